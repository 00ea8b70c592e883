import { mixupTargets } from '@distillery/soft-labels';
import { assertLabels, assertRank, checkNumber, checkOptions, type Rng, tf } from '@distillery/tensor';
import { checkImages, fullMask, reverseBatch, select } from './common';

export interface MixupCutmixOptions {
  /** Mixup α (default 0.8); 0 disables mixup. */
  mixupAlpha?: number;
  /** CutMix α (default 1.0); 0 disables cutmix. */
  cutmixAlpha?: number;
  /** Probability of mixing the batch at all (default 1). */
  prob?: number;
  /** Probability of CutMix rather than mixup when both are enabled (default 0.5). */
  switchProb?: number;
  /** Label smoothing ε of the targets (default 0.1). */
  labelSmoothing?: number;
  /** Correct λ to the clipped box area (default true, timm correct_lam). */
  correctLam?: boolean;
}

export interface MixupCutmixResult {
  images: tf.Tensor4D;
  /** Soft targets [B, C]: λ·y_ls(y) + (1 − λ)·y_ls(flip(y)). */
  targets: tf.Tensor2D;
  lambda: number;
  mode: 'mixup' | 'cutmix' | 'none';
  /** The CutMix box [y1, y2, x1, x2) when mode is 'cutmix'. */
  box?: [number, number, number, number];
}

/**
 * Batch-mode Mixup / CutMix with timm conventions (Zhang et al., arXiv 1710.09412; Yun et al., arXiv 1905.04899;
 * timm/data/mixup.py `Mixup`, mode 'batch'): one λ per batch, partner of sample n is sample B−1−n (flip(0)).
 *
 *     with probability prob: cutmix = both α > 0 ? U < switchProb : cutmixAlpha > 0;  λ ~ Beta(α, α)
 *     mixup:  x ← λ·x + (1−λ)·flip(x)
 *     cutmix: cut = (int(H·√(1−λ)), int(W·√(1−λ))), centre (cy, cx) uniform integer, box clipped,
 *             x[box] ← flip(x)[box], λ ← 1 − area/(H·W)
 *     targets = λ·y_ls(y) + (1−λ)·y_ls(flip(y))     (mixupTargets of @distillery/soft-labels)
 *
 * Defaults are DeiT's: mixup 0.8, cutmix 1.0, prob 1, switch 0.5, smoothing 0.1.
 */
export function mixupCutmix(
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  numClasses: number,
  rng: Rng,
  options: MixupCutmixOptions = {},
): MixupCutmixResult {
  checkOptions<MixupCutmixOptions>(options, {
    mixupAlpha: true,
    cutmixAlpha: true,
    prob: true,
    switchProb: true,
    labelSmoothing: true,
    correctLam: [true, false],
  });
  const [B, H, W] = checkImages(images);
  assertRank(labels, 1, 'labels');
  assertLabels(labels, numClasses, 'labels', B);
  const mixupAlpha = checkNumber(options.mixupAlpha ?? 0.8, 'options.mixupAlpha', { min: 0 });
  const cutmixAlpha = checkNumber(options.cutmixAlpha ?? 1.0, 'options.cutmixAlpha', { min: 0 });
  const prob = checkNumber(options.prob ?? 1, 'options.prob', { min: 0, max: 1 });
  const switchProb = checkNumber(options.switchProb ?? 0.5, 'options.switchProb', { min: 0, max: 1 });
  const smoothing = options.labelSmoothing ?? 0.1;
  let lambda = 1;
  let mode: MixupCutmixResult['mode'] = 'none';
  let useCutmix = false;
  if ((mixupAlpha > 0 || cutmixAlpha > 0) && rng.uniform() < prob) {
    useCutmix = mixupAlpha > 0 && cutmixAlpha > 0 ? rng.uniform() < switchProb : cutmixAlpha > 0;
    const alpha = useCutmix ? cutmixAlpha : mixupAlpha;
    lambda = rng.beta(alpha, alpha);
    mode = useCutmix ? 'cutmix' : 'mixup';
  }
  let box: [number, number, number, number] | undefined;
  const out = tf.tidy(() => {
    if (mode === 'none') return tf.clone(images);
    const flipped = reverseBatch(images);
    if (mode === 'mixup') return tf.add(tf.mul(images, lambda), tf.mul(flipped, 1 - lambda)) as tf.Tensor4D;
    const ratio = Math.sqrt(1 - lambda);
    const cutH = Math.trunc(H * ratio);
    const cutW = Math.trunc(W * ratio);
    const cy = rng.int(H);
    const cx = rng.int(W);
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    const y1 = clip(cy - Math.floor(cutH / 2), H);
    const y2 = clip(cy + Math.floor(cutH / 2), H);
    const x1 = clip(cx - Math.floor(cutW / 2), W);
    const x2 = clip(cx + Math.floor(cutW / 2), W);
    box = [y1, y2, x1, x2];
    if (options.correctLam ?? true) lambda = 1 - ((y2 - y1) * (x2 - x1)) / (H * W);
    const flags = new Uint8Array(B * H * W);
    for (let b = 0; b < B; b++) for (let y = y1; y < y2; y++) flags.fill(1, (b * H + y) * W + x1, (b * H + y) * W + x2);
    const mask = fullMask(flags, images.shape);
    return select(mask, flipped, images) as tf.Tensor4D;
  });
  const targets = mixupTargets(labels, numClasses, { lambda, smoothing });
  return { images: out, targets, lambda, mode, box };
}
