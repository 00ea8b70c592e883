import { checkNumber, checkOptions, invalid, type OptionsSpec, type Rng, tf } from '@distillery/tensor';
import { blend } from './basic';
import {
  type Affine,
  applyAffine,
  checkImages,
  expand,
  fullMask,
  grayscaleFull,
  hostBackend,
  IDENTITY,
  meanGrayFull,
  perSample,
  rotationMap,
  select,
} from './common';
import {
  autoContrastHost,
  brightnessHost,
  contrastHost,
  equalizeHost,
  mapHost,
  roundHalfEven,
  saturationHost,
  sharpnessHost,
} from './host-ops';

/** The ops of timm's `rand-…-inc1` policy (\_RAND_INCREASING_TRANSFORMS). */
export const RAND_AUGMENT_OPS = [
  'AutoContrast',
  'Equalize',
  'Invert',
  'Rotate',
  'PosterizeIncreasing',
  'SolarizeIncreasing',
  'SolarizeAdd',
  'ColorIncreasing',
  'ContrastIncreasing',
  'BrightnessIncreasing',
  'SharpnessIncreasing',
  'ShearX',
  'ShearY',
  'TranslateXRel',
  'TranslateYRel',
] as const;
export type RandAugmentOp = (typeof RAND_AUGMENT_OPS)[number];

export interface RandAugmentOptions {
  /** Ops per image (timm `n`, default 2). */
  numOps?: number;
  /** Magnitude m on timm's 0…10 scale (default 9, DeiT's rand-m9). */
  magnitude?: number;
  /** Std of the per-application magnitude noise, m ~ N(m, std) clipped to [0, 10] (default 0.5, mstd0.5). */
  magnitudeStd?: number;
  /** Probability each chosen op is applied (timm RandAugmentOp prob, default 0.5). */
  prob?: number;
  /** Fill value of geometric ops (default 0.5, about timm's mean-colour fill). */
  fill?: number;
  /** Ops to draw from (default all of RAND_AUGMENT_OPS). */
  ops?: readonly RandAugmentOp[];
  /** Colour ops on the host ('host'; fast on cpu/wasm) or as tensor ops ('device'); 'auto' (default) picks. */
  path?: 'auto' | 'host' | 'device';
}

export interface SlotParams {
  /** Bilinear geometric ops (rotate, shear). */
  affine: Affine[];
  /** Nearest geometric ops (PIL's default resampling: AutoAugment's translate and rotate). */
  affineNearest: Affine[];
  equalize: number[];
  autoContrast: number[];
  invert: number[];
  posterize: number[]; // 1 = apply with bits below
  bits: number[];
  solarize: number[]; // threshold (in [0, 1]; > 1 = none)
  solarizeAdd: number[]; // amount added below 0.5
  color: number[];
  contrast: number[];
  brightness: number[];
  sharpness: number[];
}

export function emptySlot(B: number): SlotParams {
  const ones = () => new Array<number>(B).fill(1);
  const zeros = () => new Array<number>(B).fill(0);
  return {
    affine: Array.from({ length: B }, () => IDENTITY.slice() as Affine),
    affineNearest: Array.from({ length: B }, () => IDENTITY.slice() as Affine),
    equalize: zeros(),
    autoContrast: zeros(),
    invert: zeros(),
    posterize: zeros(),
    bits: new Array<number>(B).fill(8),
    solarize: new Array<number>(B).fill(2),
    solarizeAdd: zeros(),
    color: ones(),
    contrast: ones(),
    brightness: ones(),
    sharpness: ones(),
  };
}

/**
 * RandAugment (Cubuk et al. 2020, arXiv 1909.13719) with timm's `rand-m9-mstd0.5-inc1` conventions
 * (timm/data/auto_augment.py), batched: each image draws `numOps` ops uniformly (with replacement), each applied with
 * probability `prob` at magnitude m ~ N(magnitude, magnitudeStd) clipped to [0, 10]:
 *
 *   Rotate ±30°·m/10 · ShearX/Y ±0.3·m/10 · TranslateX/YRel ±0.45·m/10 of the size · Color/Contrast/Brightness/
 *   Sharpness factor 1 ± 0.9·m/10 · Posterize 4 − ⌊4m/10⌋ bits · Solarize threshold 1 − ⌊256·m/10⌋/256 ·
 *   SolarizeAdd +⌊110·m/10⌋/255 below 0.5 · AutoContrast · Invert
 *
 * Images are float [0, 1] (PIL's uint8 ops are emulated in float and checked against PIL; Equalize runs on the host
 * on every backend). Op slots run in order, so each image sees its ops sequentially.
 */
/** The declared keys of `RandAugmentOptions` (also checked when nested, e.g. `weakStrongViews({ randAugment })`). */
export const RAND_AUGMENT_SPEC: OptionsSpec<RandAugmentOptions> = {
  numOps: true,
  magnitude: true,
  magnitudeStd: true,
  prob: true,
  fill: true,
  ops: true,
  path: ['auto', 'host', 'device'],
};

export function randAugment(images: tf.Tensor4D, rng: Rng, options: RandAugmentOptions = {}): tf.Tensor4D {
  checkOptions<RandAugmentOptions>(options, RAND_AUGMENT_SPEC);
  const [B, H, W] = checkImages(images);
  const n = checkNumber(options.numOps ?? 2, 'options.numOps', { min: 0, integer: true });
  const mBase = checkNumber(options.magnitude ?? 9, 'options.magnitude', { min: 0, max: 10 });
  const mStd = checkNumber(options.magnitudeStd ?? 0.5, 'options.magnitudeStd', { min: 0 });
  const prob = checkNumber(options.prob ?? 0.5, 'options.prob', { min: 0, max: 1 });
  const fill = checkNumber(options.fill ?? 0.5, 'options.fill');
  const ops = options.ops ?? RAND_AUGMENT_OPS;
  if (!Array.isArray(ops) || ops.length === 0) throw invalid('EMPTY_INPUT', 'options.ops', 'at least one op', '0');
  for (const [i, op] of ops.entries()) {
    if (!RAND_AUGMENT_OPS.includes(op)) throw invalid('INVALID_ARGUMENT', `options.ops[${i}]`, 'a RandAugment op', op);
  }
  const slots: SlotParams[] = [];
  for (let s = 0; s < n; s++) slots.push(emptySlot(B));
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < n; s++) {
      const op = ops[rng.int(ops.length)]!;
      if (rng.uniform() >= prob) continue;
      let m = mStd > 0 ? rng.normal(mBase, mStd) : mBase;
      m = Math.min(10, Math.max(0, m));
      const sign = () => (rng.uniform() < 0.5 ? -1 : 1);
      const p = slots[s]!;
      switch (op) {
        case 'AutoContrast':
          p.autoContrast[b] = 1;
          break;
        case 'Equalize':
          p.equalize[b] = 1;
          break;
        case 'Invert':
          p.invert[b] = 1;
          break;
        case 'Rotate':
          p.affine[b] = rotationMap((sign() * 30 * (m / 10) * Math.PI) / 180, H, W);
          break;
        case 'ShearX':
          p.affine[b] = [1, sign() * 0.3 * (m / 10), 0, 0, 1, 0];
          break;
        case 'ShearY':
          p.affine[b] = [1, 0, 0, sign() * 0.3 * (m / 10), 1, 0];
          break;
        case 'TranslateXRel':
          p.affine[b] = [1, 0, sign() * 0.45 * (m / 10) * W, 0, 1, 0];
          break;
        case 'TranslateYRel':
          p.affine[b] = [1, 0, 0, 0, 1, sign() * 0.45 * (m / 10) * H];
          break;
        case 'PosterizeIncreasing':
          p.posterize[b] = 1;
          p.bits[b] = 4 - Math.floor((m / 10) * 4);
          break;
        case 'SolarizeIncreasing':
          p.solarize[b] = (256 - Math.floor((m / 10) * 256)) / 255; // PIL: 8-bit value >= threshold
          break;
        case 'SolarizeAdd':
          p.solarizeAdd[b] = Math.floor((m / 10) * 110) / 255;
          break;
        case 'ColorIncreasing':
          p.color[b] = 1 + sign() * 0.9 * (m / 10);
          break;
        case 'ContrastIncreasing':
          p.contrast[b] = 1 + sign() * 0.9 * (m / 10);
          break;
        case 'BrightnessIncreasing':
          p.brightness[b] = 1 + sign() * 0.9 * (m / 10);
          break;
        case 'SharpnessIncreasing':
          p.sharpness[b] = 1 + sign() * 0.9 * (m / 10);
          break;
      }
    }
  }
  return applySlots(images, slots, fill, options.path ?? 'auto');
}

/** Applies op slots in order (each image has at most one op per slot); shared by RandAugment and AutoAugment. */
export function applySlots(
  images: tf.Tensor4D,
  slots: SlotParams[],
  fill: number,
  path: 'auto' | 'host' | 'device',
): tf.Tensor4D {
  const C = images.shape[3];
  return tf.tidy(() => {
    let x = images;
    for (const p of slots) x = applySlot(x, p, fill, C, path);
    return x === images ? tf.clone(images) : x;
  });
}

const any = (v: number[], neutral: number) => v.some((u) => u !== neutral);

function applySlot(
  x: tf.Tensor4D,
  p: SlotParams,
  fill: number,
  C: number,
  path: 'auto' | 'host' | 'device',
): tf.Tensor4D {
  const shape = x.shape;
  const [B, H, W] = shape;
  const moved = (maps: Affine[]) => maps.some((m) => m.some((v, i) => v !== IDENTITY[i]));
  if (moved(p.affine)) x = applyAffine(x, p.affine, 'bilinear', fill);
  if (moved(p.affineNearest)) x = applyAffine(x, p.affineNearest, 'nearest', fill);
  if (path === 'host' || (path === 'auto' && hostBackend())) return applySlotHost(x, p);
  if (any(p.equalize, 0)) x = select(fullMask(p.equalize, shape), equalizeDevice(x), x);
  if (any(p.autoContrast, 0)) {
    const lo = expand(tf.min(x, [1, 2], true), shape);
    const range = tf.sub(expand(tf.max(x, [1, 2], true), shape), lo);
    const positive = tf.greater(range, 0);
    const stretched = tf.where(positive, tf.div(tf.sub(x, lo), tf.where(positive, range, tf.onesLike(range))), x);
    x = select(fullMask(p.autoContrast, shape), stretched, x);
  }
  if (any(p.invert, 0)) x = select(fullMask(p.invert, shape), tf.sub(1, x), x);
  if (any(p.posterize, 0)) {
    const q = perSample(
      p.bits.map((b) => 2 ** (8 - b)),
      shape,
    );
    const post = tf.div(tf.mul(tf.floor(tf.div(tf.round(tf.mul(x, 255)), q)), q), 255);
    x = select(fullMask(p.posterize, shape), post, x);
  }
  if (any(p.solarize, 2))
    x = tf.where(tf.greaterEqual(x, perSample(p.solarize, shape)), tf.sub(1, x), x) as tf.Tensor4D;
  if (any(p.solarizeAdd, 0)) {
    const added = tf.minimum(tf.add(x, perSample(p.solarizeAdd, shape)), 1);
    x = tf.where(tf.less(x, 0.5), added, x) as tf.Tensor4D;
  }
  if (any(p.color, 1) && C === 3) x = blend(x, grayscaleFull(x), perSample(p.color, shape));
  if (any(p.contrast, 1)) x = blend(x, meanGrayFull(x), perSample(p.contrast, shape));
  if (any(p.brightness, 1)) x = tf.clipByValue(tf.mul(x, perSample(p.brightness, shape)), 0, 1) as tf.Tensor4D;
  if (any(p.sharpness, 1) && H >= 3 && W >= 3) {
    // PIL SMOOTH kernel [[1,1,1],[1,5,1],[1,1,1]]/13, borders kept from the original.
    const k = tf.tile(tf.reshape(tf.div(tf.tensor1d([1, 1, 1, 1, 5, 1, 1, 1, 1]), 13), [3, 3, 1, 1]), [
      1,
      1,
      C,
      1,
    ]) as tf.Tensor4D;
    const smooth = tf.depthwiseConv2d(x, k, 1, 'same');
    const interior = new Uint8Array(B * H * W);
    for (let b = 0; b < B; b++)
      for (let y = 1; y < H - 1; y++) interior.fill(1, (b * H + y) * W + 1, (b * H + y) * W + W - 1);
    const degenerate = select(fullMask(interior, shape), smooth, x);
    x = blend(x, degenerate, perSample(p.sharpness, shape));
  }
  return x;
}

/**
 * PIL's ImageOps.equalize of every image and channel on the device (no read back: WebGPU in browsers cannot read
 * synchronously), the same arithmetic as `equalizeHost`: 256-bin histograms by segment sums, the step
 * ⌊(n − count of the last non-empty bin) / 255⌋, and the lookup table ⌊(⌊step/2⌋ + cumulative count) / step⌋ / 255;
 * a channel with one non-empty bin or a zero step is only quantised.
 */
function equalizeDevice(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const n = H * W;
  const groups = B * C;
  // The histogram of image b, channel c occupies segments [(b·C + c)·256, (b·C + c + 1)·256).
  const offsets = new Float32Array(B * n * C);
  for (let b = 0; b < B; b++)
    for (let p = 0; p < n; p++) for (let c = 0; c < C; c++) offsets[(b * n + p) * C + c] = (b * C + c) * 256;
  return tf.tidy(() => {
    const bins = tf.clipByValue(tf.floor(tf.add(tf.mul(x, 255), 0.5)), 0, 255); // Math.round on [0, 255]
    const ids = tf.cast(tf.add(tf.reshape(bins, [-1]), tf.tensor1d(offsets)), 'int32');
    const hist = tf.reshape(tf.unsortedSegmentSum(tf.ones([ids.size]), ids as tf.Tensor1D, groups * 256), [
      groups,
      256,
    ]);
    const occupied = tf.greater(hist, 0);
    const binIndex = tf.range(0, 256, 1, 'float32');
    const lastBin = tf.max(
      tf.where(occupied, tf.broadcastTo(binIndex, [groups, 256]), tf.fill([groups, 256], -1)),
      1,
      true,
    );
    const last = tf.sum(tf.mul(hist, tf.cast(tf.equal(binIndex, lastBin), 'float32')), 1, true);
    const nonzero = tf.sum(tf.cast(occupied, 'float32'), 1, true);
    const step = floorDivide(tf.sub(n, last), tf.fill([groups, 1], 255));
    const degenerate = tf.logicalOr(tf.lessEqual(nonzero, 1), tf.equal(step, 0));
    const safeStep = tf.maximum(step, 1);
    // Exclusive cumulative count: acc before bin i.
    const acc = tf.add(floorDivide(safeStep, tf.fill([groups, 1], 2)), tf.cumsum(hist, 1, true));
    const lut = tf.div(tf.minimum(floorDivide(acc, safeStep), 255), 255);
    const table = tf.where(
      tf.broadcastTo(degenerate, [groups, 256]),
      tf.div(tf.broadcastTo(binIndex, [groups, 256]), 255),
      lut,
    );
    return tf.reshape(tf.gather(tf.reshape(table, [-1]), ids), [B, H, W, C]) as tf.Tensor4D;
  });
}

/** ⌊a / d⌋ of non-negative integer-valued float tensors (d > 0), exact below 2^24 whatever the division's rounding. */
function floorDivide(a: tf.Tensor, d: tf.Tensor): tf.Tensor {
  const q = tf.floor(tf.div(a, d));
  const lower = tf.sub(q, tf.cast(tf.greater(tf.mul(q, d), a), 'float32'));
  return tf.add(lower, tf.cast(tf.lessEqual(tf.mul(tf.add(lower, 1), d), a), 'float32'));
}

/** The colour ops of one slot on the host (cpu/wasm): the same formulas as the tensor path, per image. */
function applySlotHost(x: tf.Tensor4D, p: SlotParams): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const n = H * W;
  const v = Float32Array.from(x.dataSync() as Float32Array);
  for (let b = 0; b < B; b++) {
    if (p.equalize[b]) equalizeHost(v, b, n, C);
    if (p.autoContrast[b]) autoContrastHost(v, b, n, C);
    if (p.invert[b]) mapHost(v, b, n, C, (u) => 1 - u);
    if (p.posterize[b]) {
      const q = 2 ** (8 - p.bits[b]!);
      mapHost(v, b, n, C, (u) => (Math.floor(roundHalfEven(Math.fround(u * 255)) / q) * q) / 255);
    }
    const t = p.solarize[b]!;
    if (t < 2) mapHost(v, b, n, C, (u) => (u >= t ? 1 - u : u));
    const a = p.solarizeAdd[b]!;
    if (a !== 0) mapHost(v, b, n, C, (u) => (u < 0.5 ? Math.min(u + a, 1) : u));
    if (p.color[b] !== 1) saturationHost(v, b, n, C, p.color[b]!);
    if (p.contrast[b] !== 1) contrastHost(v, b, n, C, p.contrast[b]!);
    if (p.brightness[b] !== 1) brightnessHost(v, b, n, C, p.brightness[b]!);
    if (p.sharpness[b] !== 1) sharpnessHost(v, b, H, W, C, p.sharpness[b]!);
  }
  return tf.tensor4d(v, [B, H, W, C]);
}
