import { checkNumber } from '@distillery/tensor';
import { type ClassVector, checkClassVector } from '../internal/checks';

/**
 * Class-balanced weights from the effective number of samples (Cui et al., arXiv 1901.05555), as LDAM-DRW (kaidic/
 * LDAM-DRW, cifar_train.py, DRW rule), DeiT-LT (val-iisc/DeiT-LT, main.py) and MDCS compute them:
 *
 *     w_c = (1 − β) / (1 − β^{n_c}),   then  w ← w · C / Σ_c w_c        (Σ_c w_c = C)
 *
 * β = 0 gives uniform weights; β → 1 approaches inverse frequency. Computed in float64.
 *
 * @param classCounts  training count n_c of each class (positive), array or rank-1 tensor
 * @param beta         β ∈ [0, 1). Default 0.9999 (DeiT-LT --beta, LDAM-DRW DRW).
 * @returns C weights summing to C
 */
export function effectiveNumberWeights(classCounts: ClassVector, beta = 0.9999): number[] {
  checkNumber(beta, 'beta', { min: 0, max: 1 - Number.EPSILON });
  const counts = checkClassVector(classCounts, undefined, 'classCounts');
  const raw = counts.map((n) => (1 - beta) / (1 - beta ** n));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w * counts.length) / sum);
}
