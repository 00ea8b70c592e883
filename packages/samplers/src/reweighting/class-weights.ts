import { checkNumber, checkOptions, invalid } from '@distillery/tensor';
import { checkCounts } from '../util';

function nonEmpty(counts: ArrayLike<number>): number[] {
  const n = checkCounts(counts);
  const empty = n.indexOf(0);
  if (empty >= 0) {
    throw invalid('EMPTY_INPUT', `counts[${empty}]`, 'a positive count (an empty class has no finite weight)', '0');
  }
  return n;
}

function normaliseToC(w: number[]): number[] {
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => (v / total) * w.length);
}

/**
 * Inverse-frequency class weights w_c = n_c^(−power) (power 1 default, ½ for "inverse square root"), normalised so
 * that Σ w = C (default) or left raw (`normalize: false`).
 */
export function inverseFrequencyWeights(
  counts: ArrayLike<number>,
  options: { power?: number; normalize?: boolean } = {},
): number[] {
  const { power = 1, normalize = true } = checkOptions<{ power?: number; normalize?: boolean }>(options, {
    power: true,
    normalize: [true, false],
  });
  const n = nonEmpty(counts);
  checkNumber(power, 'options.power', { min: 0 });
  const w = n.map((c) => c ** -power);
  return normalize ? normaliseToC(w) : w;
}

/**
 * Class-balanced weights from the effective number of samples (Cui et al. 2019, arXiv 1901.05555; as used by
 * kaidic/LDAM-DRW cifar_train.py and val-iisc/DeiT-LT):
 *
 *     w_c = (1 − β) / (1 − β^{n_c}),   normalised so that Σ_c w_c = C.     β = 0.9999 by default.
 *
 * β = 0 gives uniform weights (all 1); β → 1 approaches inverse frequency.
 */
export function effectiveNumberWeights(counts: ArrayLike<number>, options: { beta?: number } = {}): number[] {
  const { beta: givenBeta = 0.9999 } = checkOptions<{ beta?: number }>(options, { beta: true });
  const n = nonEmpty(counts);
  const beta = checkNumber(givenBeta, 'options.beta', { min: 0, max: 1 });
  if (beta === 1) throw invalid('OUT_OF_RANGE', 'options.beta', 'a number in [0, 1)', '1');
  const w = n.map((c) => (1 - beta) / (1 - beta ** c));
  return normaliseToC(w);
}

export interface DeferredReweightingOptions {
  /** Epoch at which re-weighting switches on (LDAM-DRW CIFAR: 160; DeiT-LT CIFAR: 1100). */
  drwEpoch: number;
  /** β of the effective-number weights after the switch (default 0.9999). */
  beta?: number;
}

/**
 * Deferred re-weighting (Cao et al. 2019, LDAM-DRW, kaidic/LDAM-DRW cifar_train.py `train_rule == 'DRW'`):
 * `idx = epoch // drwEpoch; β = [0, beta][idx]` — uniform weights (all 1) before `drwEpoch`, effective-number
 * class-balanced weights from `drwEpoch` on. Epochs past 2·drwEpoch keep the second β (the reference would index out
 * of range; it never trains that long).
 */
export function deferredReweighting(
  counts: ArrayLike<number>,
  epoch: number,
  options: DeferredReweightingOptions,
): number[] {
  const { drwEpoch, beta: givenBeta = 0.9999 } = checkOptions<DeferredReweightingOptions>(options ?? null, {
    drwEpoch: true,
    beta: true,
  });
  const e = checkNumber(epoch, 'epoch', { min: 0, integer: true });
  const start = checkNumber(drwEpoch, 'options.drwEpoch', { min: 1, integer: true });
  // The post-switch β is checked before the switch too, so a bad value fails on the first epoch, not at drwEpoch.
  const after = checkNumber(givenBeta, 'options.beta', { min: 0, max: 1 });
  if (after === 1) throw invalid('OUT_OF_RANGE', 'options.beta', 'a number in [0, 1)', '1');
  return effectiveNumberWeights(counts, { beta: e >= start ? after : 0 });
}
