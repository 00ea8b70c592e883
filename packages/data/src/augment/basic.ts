import { checkNumber, checkOptions, invalid, type Rng, tf } from '@distillery/tensor';
import {
  type Affine,
  applyAffine,
  checkImages,
  fullMask,
  grayscaleFull,
  hostBackend,
  meanGrayFull,
  perSample,
  rotationMap,
  select,
} from './common';
import { brightnessHost, contrastHost, saturationHost } from './host-ops';

/**
 * Random crop with zero padding (torchvision RandomCrop(size, padding=4), as the CIFAR recipes): pad every side by
 * `padding` with `fill`, then crop an H×W window at a per-sample offset drawn uniformly from `rng`. Exact pixel
 * copies (nearest sampling at integer positions). Returns a new [B, H, W, C] tensor.
 */
export function randomCrop(
  images: tf.Tensor4D,
  rng: Rng,
  options: { padding?: number; fill?: number } = {},
): tf.Tensor4D {
  checkOptions<{ padding?: number; fill?: number }>(options, { padding: true, fill: true });
  const [B] = checkImages(images);
  const p = checkNumber(options.padding ?? 4, 'options.padding', { min: 0, integer: true });
  const fill = checkNumber(options.fill ?? 0, 'options.fill');
  if (p === 0) return tf.clone(images);
  // out(y, x) = padded(y + oy, x + ox) = images(y + oy − p, x + ox − p), `fill` outside: an integer translation,
  // so nearest sampling copies pixels exactly on every backend.
  const maps: Affine[] = [];
  for (let b = 0; b < B; b++) {
    const oy = rng.int(2 * p + 1);
    const ox = rng.int(2 * p + 1);
    maps.push([1, 0, ox - p, 0, 1, oy - p]);
  }
  return tf.tidy(() => applyAffine(images, maps, 'nearest', fill));
}

/** Horizontal flip of each image with probability p (0.5), decided per sample from `rng`. */
export function randomHorizontalFlip(images: tf.Tensor4D, rng: Rng, options: { p?: number } = {}): tf.Tensor4D {
  checkOptions<{ p?: number }>(options, { p: true });
  const [B, , W] = checkImages(images);
  const p = checkNumber(options.p ?? 0.5, 'options.p', { min: 0, max: 1 });
  const maps = Array.from(
    { length: B },
    (): Affine => (rng.uniform() < p ? [-1, 0, W - 1, 0, 1, 0] : [1, 0, 0, 0, 1, 0]),
  );
  return applyAffine(images, maps, 'nearest', 0);
}

/**
 * Random rotation by θ ~ U(−degrees, degrees) per sample (torchvision RandomRotation(15) of the MDCS weak view:
 * nearest interpolation, fill 0, about the image centre).
 */
export function randomRotation(
  images: tf.Tensor4D,
  rng: Rng,
  options: { degrees?: number; fill?: number; interpolation?: 'nearest' | 'bilinear' } = {},
): tf.Tensor4D {
  checkOptions<{ degrees?: number; fill?: number; interpolation?: 'nearest' | 'bilinear' }>(options, {
    degrees: true,
    fill: true,
    interpolation: ['nearest', 'bilinear'],
  });
  checkNumber(options.fill ?? 0, 'options.fill');
  const [B, H, W] = checkImages(images);
  const deg = checkNumber(options.degrees ?? 15, 'options.degrees', { min: 0 });
  const maps = Array.from({ length: B }, () => rotationMap((rng.uniform(-deg, deg) * Math.PI) / 180, H, W));
  return tf.tidy(() => applyAffine(images, maps, options.interpolation ?? 'nearest', options.fill ?? 0));
}

export interface ColorJitterOptions {
  /** Host loops ('host'; fast on cpu/wasm) or tensor ops ('device'); 'auto' (default) picks. */
  path?: 'auto' | 'host' | 'device';
  /** Apply the three ops in a random order per image, as torchvision (default true). */
  randomOrder?: boolean;
  /** Brightness factor range [max(0, 1 − b), 1 + b] (default 0.4). */
  brightness?: number;
  /** Contrast factor range [max(0, 1 − c), 1 + c] (default 0.4). */
  contrast?: number;
  /** Saturation factor range [max(0, 1 − s), 1 + s] (default 0.4; no-op on grey images). */
  saturation?: number;
}

/**
 * Colour jitter with torchvision ColorJitter semantics (brightness: f·x; contrast: blend with the mean grey level;
 * saturation: blend with the grey image; each clamped to [0, 1]; factors U(max(0, 1 − v), 1 + v)), per-sample factors
 * and a per-sample random order of the three ops (torchvision's `randperm`; `randomOrder: false` keeps brightness →
 * contrast → saturation). Hue is not implemented.
 */
export function colorJitter(images: tf.Tensor4D, rng: Rng, options: ColorJitterOptions = {}): tf.Tensor4D {
  checkOptions<ColorJitterOptions>(options, {
    path: ['auto', 'host', 'device'],
    randomOrder: [true, false],
    brightness: true,
    contrast: true,
    saturation: true,
  });
  const [B] = checkImages(images);
  const range = (v: number, name: string) => {
    checkNumber(v, name, { min: 0 });
    return [Math.max(0, 1 - v), 1 + v] as const;
  };
  const [b0, b1] = range(options.brightness ?? 0.4, 'options.brightness');
  const [c0, c1] = range(options.contrast ?? 0.4, 'options.contrast');
  const [s0, s1] = range(options.saturation ?? 0.4, 'options.saturation');
  const randomOrder = options.randomOrder ?? true;
  const factors: [number, number, number][] = [];
  const orders: number[][] = [];
  for (let i = 0; i < B; i++) {
    orders.push(randomOrder ? Array.from(rng.permutation(3)) : [0, 1, 2]);
    factors.push([rng.uniform(b0, b1), rng.uniform(c0, c1), rng.uniform(s0, s1)]);
  }
  const shape = images.shape;
  const path = options.path ?? 'auto';
  if (path === 'host' || (path === 'auto' && hostBackend())) {
    const [, H, W, C] = shape;
    const v = Float32Array.from(images.dataSync() as Float32Array);
    const ops = [brightnessHost, contrastHost, saturationHost];
    for (let b = 0; b < B; b++) for (const k of orders[b]!) ops[k]!(v, b, H * W, C, factors[b]![k]!);
    return tf.tensor4d(v, shape);
  }
  return tf.tidy(() => {
    let x = images;
    // Stage j applies each image's j-th op; the other two ops get factor 1 (the identity) in that stage.
    for (let j = 0; j < 3; j++) {
      const f = (k: number) => factors.map((fs, b) => (orders[b]![j] === k ? fs[k]! : 1));
      x = tf.clipByValue(tf.mul(x, perSample(f(0), shape)), 0, 1) as tf.Tensor4D;
      x = blend(x, meanGrayFull(x), perSample(f(1), shape));
      if (x.shape[3] === 3) x = blend(x, grayscaleFull(x), perSample(f(2), shape));
    }
    return x;
  });
}

/** PIL ImageEnhance blend: degenerate + f·(x − degenerate), clamped to [0, 1]. */
export function blend(x: tf.Tensor4D, degenerate: tf.Tensor, factor: tf.Tensor): tf.Tensor4D {
  return tf.clipByValue(tf.add(degenerate, tf.mul(factor, tf.sub(x, degenerate))), 0, 1) as tf.Tensor4D;
}

/**
 * Cutout (DeVries & Taylor 2017, arXiv 1708.04552; MDCS strong view Cutout(16)): per sample a square of side `size`
 * centred at a uniform pixel (y, x) ∈ [0, H) × [0, W), clipped to the image, set to `fill` (0). `p` is the
 * probability of applying it (default 1).
 */
export function cutout(
  images: tf.Tensor4D,
  rng: Rng,
  options: { size?: number; fill?: number; p?: number } = {},
): tf.Tensor4D {
  checkOptions<{ size?: number; fill?: number; p?: number }>(options, { size: true, fill: true, p: true });
  const [B, H, W] = checkImages(images);
  const size = checkNumber(options.size ?? 16, 'options.size', { min: 0, integer: true });
  const fill = checkNumber(options.fill ?? 0, 'options.fill');
  const p = checkNumber(options.p ?? 1, 'options.p', { min: 0, max: 1 });
  const mask = new Uint8Array(B * H * W);
  for (let b = 0; b < B; b++) {
    if (rng.uniform() >= p) continue;
    const cy = rng.int(H);
    const cx = rng.int(W);
    const y1 = Math.max(0, cy - Math.floor(size / 2));
    const y2 = Math.min(H, cy + Math.floor(size / 2));
    const x1 = Math.max(0, cx - Math.floor(size / 2));
    const x2 = Math.min(W, cx + Math.floor(size / 2));
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) mask[(b * H + y) * W + x] = 1;
  }
  return tf.tidy(() => select(fullMask(mask, images.shape), tf.fill(images.shape, fill), images));
}

/** (x − mean) / std per channel. */
export function normalize(images: tf.Tensor4D, mean: readonly number[], std: readonly number[]): tf.Tensor4D {
  const [, , , C] = checkImages(images);
  if (mean.length !== C || std.length !== C) {
    throw invalid('SHAPE_MISMATCH', 'mean', `${C} values (one per channel)`, String(mean.length));
  }
  std.forEach((s, i) => {
    checkNumber(s, `std[${i}]`, { min: 0, minExclusive: true });
  });
  return tf.tidy(
    () => tf.div(tf.sub(images, tf.tensor1d(mean as number[])), tf.tensor1d(std as number[])) as tf.Tensor4D,
  );
}
