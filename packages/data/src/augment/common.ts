import { assertRank, invalid } from '@distillery/tensor';
import * as tf from '@tensorflow/tfjs-core';

/** Checks a float image batch [B, H, W, C] and returns its dimensions. */
export function checkImages(images: tf.Tensor, argument = 'images'): [number, number, number, number] {
  assertRank(images, 4, argument);
  if (images.dtype !== 'float32') throw invalid('INVALID_DTYPE', argument, 'float32 images in [0, 1]', images.dtype);
  const [B, H, W, C] = images.shape as [number, number, number, number];
  if (B === 0) throw invalid('EMPTY_INPUT', argument, 'at least one image', formatDims(images.shape));
  return [B, H, W, C];
}

function formatDims(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A per-sample scalar as a [B, 1, 1, 1] tensor. */
export function perSample(values: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values as ArrayLike<number>), [values.length, 1, 1, 1]);
}

/** out = a where mask = 1, b elsewhere (exact copies), for a 0/1 float mask broadcast to a's shape. */
export function select(mask: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.cast(tf.broadcastTo(mask, a.shape), 'bool'), a, b));
}

/** ITU-R 601-2 luma (PIL 'L'): 0.299 R + 0.587 G + 0.114 B, kept as [B, H, W, 1]; grey images pass through. */
export function grayscale(images: tf.Tensor4D): tf.Tensor4D {
  const C = images.shape[3];
  if (C === 1) return images;
  if (C !== 3) throw invalid('SHAPE_MISMATCH', 'images', '1 or 3 channels', String(C));
  return tf.sum(tf.mul(images, tf.tensor1d([0.299, 0.587, 0.114])), 3, true) as tf.Tensor4D;
}

/** 3×3 affine (inverse map: output pixel → input pixel, in pixel-index coordinates) as the 8 tf.image.transform values. */
export type Affine = [number, number, number, number, number, number];
export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/**
 * Applies per-sample affine inverse maps (output pixel → input pixel, pixel-index coordinates), constant `fill`
 * outside the image, nearest (round) or bilinear sampling — the semantics of tf.image.transform / TF's
 * ImageProjectiveV3. Source indices and weights are computed on the host and applied with one gather per tap, so the
 * result is identical on every backend (tfjs-backend-cpu 4.22's Transform kernel returns after the first image of
 * a batch, filling the others with `fill`; this sampler does not use it).
 */
export function applyAffine(
  images: tf.Tensor4D,
  maps: Affine[],
  interpolation: 'nearest' | 'bilinear',
  fill: number,
): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  if (maps.length !== B) throw invalid('SHAPE_MISMATCH', 'maps', `${B} maps`, String(maps.length));
  const P = B * H * W;
  const fillIndex = P; // the appended fill row
  const taps = interpolation === 'nearest' ? 1 : 4;
  const index = new Int32Array(P * taps);
  const weight = new Float32Array(P * taps);
  const at = (b: number, y: number, x: number) =>
    y < 0 || y >= H || x < 0 || x >= W ? fillIndex : (b * H + y) * W + x;
  for (let b = 0; b < B; b++) {
    const m = maps[b]!;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inX = m[0] * x + m[1] * y + m[2];
        const inY = m[3] * x + m[4] * y + m[5];
        const o = ((b * H + y) * W + x) * taps;
        if (taps === 1) {
          index[o] = at(b, Math.round(inY), Math.round(inX));
          weight[o] = 1;
        } else {
          const x0 = Math.floor(inX);
          const y0 = Math.floor(inY);
          const fx = inX - x0;
          const fy = inY - y0;
          index[o] = at(b, y0, x0);
          weight[o] = (1 - fx) * (1 - fy);
          index[o + 1] = at(b, y0, x0 + 1);
          weight[o + 1] = fx * (1 - fy);
          index[o + 2] = at(b, y0 + 1, x0);
          weight[o + 2] = (1 - fx) * fy;
          index[o + 3] = at(b, y0 + 1, x0 + 1);
          weight[o + 3] = fx * fy;
        }
      }
    }
  }
  return tf.tidy(() => {
    const table = tf.concat([tf.reshape(images, [P, C]), tf.fill([1, C], fill)], 0);
    if (taps === 1) return tf.reshape(tf.gather(table, tf.tensor1d(index, 'int32')), [B, H, W, C]) as tf.Tensor4D;
    const gathered = tf.reshape(tf.gather(table, tf.tensor1d(index, 'int32')), [P, taps, C]);
    const mixed = tf.sum(tf.mul(gathered, tf.tensor3d(weight, [P, taps, 1])), 1);
    return tf.reshape(mixed, [B, H, W, C]) as tf.Tensor4D;
  });
}

/** The inverse map of a rotation by θ (radians, counter-clockwise as PIL/torchvision) about the image centre. */
export function rotationMap(theta: number, H: number, W: number): Affine {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  // input = centre + R·(output − centre), R = [[cos, −sin], [sin, cos]] in (x, y-down) coordinates
  return [c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy];
}
