import { assertRank, invalid, tf } from '@distillery/tensor';

/**
 * Performance notes (tfjs 4.22): on the cpu backend, broadcasting element-wise ops, Tile/broadcastTo, Reverse and
 * Gather go through a per-element index path (tens to hundreds of ms for a 128×32×32×3 batch), and on wasm Gather
 * and broadcastTo are slow too. The helpers below therefore (a) expand per-sample values to the full shape on the
 * host, so every element-wise op runs on same-shape operands; (b) broadcast device values with matMul against ones;
 * (c) run pure data movement (affine resampling, batch reversal) on the host when the backend keeps tensors in host
 * memory (cpu, wasm), and as gathers elsewhere (WebGPU, WebGL) — both give the same values.
 */

/** Checks a float image batch [B, H, W, C] and returns its dimensions. */
export function checkImages(images: tf.Tensor, argument = 'images'): [number, number, number, number] {
  assertRank(images, 4, argument);
  if (images.dtype !== 'float32') throw invalid('INVALID_DTYPE', argument, 'float32 images in [0, 1]', images.dtype);
  const [B, H, W, C] = images.shape as [number, number, number, number];
  if (B === 0) throw invalid('EMPTY_INPUT', argument, 'at least one image', `[${images.shape.join(', ')}]`);
  return [B, H, W, C];
}

/** Whether tensors live in host memory on the active backend (cheap dataSync, slow data-movement kernels). */
export function hostBackend(): boolean {
  const b = tf.getBackend();
  return b === 'cpu' || b === 'wasm';
}

/** Per-sample values expanded on the host to a full [B, H, W, C] float tensor. */
export function perSample(values: ArrayLike<number>, shape: readonly number[]): tf.Tensor4D {
  const [B, H, W, C] = shape as [number, number, number, number];
  const n = H * W * C;
  const out = new Float32Array(B * n);
  for (let b = 0; b < B; b++) out.fill(values[b] as number, b * n, (b + 1) * n);
  return tf.tensor4d(out, [B, H, W, C]);
}

/** A full-shape boolean mask from per-sample flags ([B]) or per-pixel flags ([B·H·W], repeated over channels). */
export function fullMask(flags: ArrayLike<number>, shape: readonly number[]): tf.Tensor4D {
  const [B, H, W, C] = shape as [number, number, number, number];
  const out = new Uint8Array(B * H * W * C);
  if (flags.length === B) {
    const n = H * W * C;
    for (let b = 0; b < B; b++) if (flags[b]) out.fill(1, b * n, (b + 1) * n);
  } else {
    for (let p = 0; p < B * H * W; p++) if (flags[p]) out.fill(1, p * C, (p + 1) * C);
  }
  return tf.tensor4d(out, [B, H, W, C], 'bool');
}

/** out = a where mask, b elsewhere (exact copies); mask is a full-shape boolean tensor. */
export function select(mask: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return tf.where(mask, a, b) as tf.Tensor4D;
}

/** Broadcasts a per-sample device value [B, 1, 1, 1] or per-sample-channel value [B, 1, 1, C] to [B, H, W, C]. */
export function expand(v: tf.Tensor, shape: readonly number[]): tf.Tensor4D {
  const [B, H, W, C] = shape as [number, number, number, number];
  return tf.tidy(() => {
    const k = v.shape[3]!;
    if (k === 1) return tf.reshape(tf.matMul(tf.reshape(v, [B, 1]), tf.ones([1, H * W * C])), [B, H, W, C]);
    return tf.reshape(tf.matMul(tf.ones([B, H * W, 1]), tf.reshape(v, [B, 1, C])), [B, H, W, C]);
  }) as tf.Tensor4D;
}

/** ITU-R 601-2 luma (PIL 'L'), repeated over the channels: [B, H, W, C] (grey images pass through). */
export function grayscaleFull(images: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  if (C === 1) return images;
  if (C !== 3) throw invalid('SHAPE_MISMATCH', 'images', '1 or 3 channels', String(C));
  return tf.tidy(() => {
    const w = tf.tensor2d([0.299, 0.299, 0.299, 0.587, 0.587, 0.587, 0.114, 0.114, 0.114], [3, 3]);
    return tf.reshape(tf.matMul(tf.reshape(images, [B * H * W, 3]), w), [B, H, W, 3]) as tf.Tensor4D;
  });
}

/** The per-image mean grey level, broadcast to the full shape (PIL ImageEnhance.Contrast's degenerate image). */
export function meanGrayFull(images: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  return tf.tidy(() => {
    const gray =
      C === 1
        ? tf.reshape(images, [B, H * W])
        : tf.reshape(tf.matMul(tf.reshape(images, [B * H * W, 3]), tf.tensor2d([0.299, 0.587, 0.114], [3, 1])), [
            B,
            H * W,
          ]);
    return expand(tf.reshape(tf.mean(gray, 1), [B, 1, 1, 1]), images.shape);
  });
}

/** 2×3 affine inverse map (output pixel → input pixel, pixel-index coordinates). */
export type Affine = [number, number, number, number, number, number];
export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/**
 * Applies per-sample affine inverse maps with constant `fill` outside the image, nearest (round half away from zero,
 * as Math.round for non-negative coordinates) or bilinear sampling — the semantics of tf.image.transform /
 * TF's ImageProjectiveV3. (tfjs-backend-cpu 4.22's Transform kernel returns after the first image of a batch and
 * fills the others, so it is not used.)
 */
export function applyAffine(
  images: tf.Tensor4D,
  maps: Affine[],
  interpolation: 'nearest' | 'bilinear',
  fill: number,
  path: 'auto' | 'host' | 'device' = 'auto',
): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  if (maps.length !== B) throw invalid('SHAPE_MISMATCH', 'maps', `${B} maps`, String(maps.length));
  const P = B * H * W;
  if (path === 'host' || (path === 'auto' && hostBackend())) {
    const src = images.dataSync() as Float32Array;
    const out = new Float32Array(P * C);
    const read = (b: number, y: number, x: number, c: number) =>
      y < 0 || y >= H || x < 0 || x >= W ? fill : src[((b * H + y) * W + x) * C + c]!;
    let o = 0;
    for (let b = 0; b < B; b++) {
      const m = maps[b]!;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const inX = m[0] * x + m[1] * y + m[2];
          const inY = m[3] * x + m[4] * y + m[5];
          if (interpolation === 'nearest') {
            const sy = Math.round(inY);
            const sx = Math.round(inX);
            if (sy < 0 || sy >= H || sx < 0 || sx >= W) for (let c = 0; c < C; c++) out[o++] = fill;
            else {
              const i = ((b * H + sy) * W + sx) * C;
              for (let c = 0; c < C; c++) out[o++] = src[i + c]!;
            }
          } else {
            const x0 = Math.floor(inX);
            const y0 = Math.floor(inY);
            const fx = Math.fround(inX - x0);
            const fy = Math.fround(inY - y0);
            const w00 = Math.fround((1 - fx) * (1 - fy));
            const w01 = Math.fround(fx * (1 - fy));
            const w10 = Math.fround((1 - fx) * fy);
            const w11 = Math.fround(fx * fy);
            for (let c = 0; c < C; c++) {
              out[o++] =
                w00 * read(b, y0, x0, c) +
                w01 * read(b, y0, x0 + 1, c) +
                w10 * read(b, y0 + 1, x0, c) +
                w11 * read(b, y0 + 1, x0 + 1, c);
            }
          }
        }
      }
    }
    return tf.tensor4d(out, [B, H, W, C]);
  }
  const taps = interpolation === 'nearest' ? 1 : 4;
  const index = new Int32Array(P * taps);
  const weight = new Float32Array(P * taps);
  const at = (b: number, y: number, x: number) => (y < 0 || y >= H || x < 0 || x >= W ? P : (b * H + y) * W + x);
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

/** The batch in reverse order (timm's flip(0) partner), on the host for cpu/wasm. */
export function reverseBatch(images: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  if (!hostBackend()) return tf.reverse(images, 0);
  const n = H * W * C;
  const src = images.dataSync() as Float32Array;
  const out = new Float32Array(B * n);
  for (let b = 0; b < B; b++) out.set(src.subarray((B - 1 - b) * n, (B - b) * n), b * n);
  return tf.tensor4d(out, [B, H, W, C]);
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
