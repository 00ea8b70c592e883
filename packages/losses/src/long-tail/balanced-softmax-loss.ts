import { checkOptions, oneHotFloat, tf } from '@distillery/tensor';
import {
  type CheckFiniteOption,
  type ClassVector,
  checkClassVector,
  checkHardLabels,
  checkSingleLogits,
  FINITE_SPEC,
  finiteCheck,
} from '../internal/checks';
import { weightedCrossEntropy } from './cross-entropy';

/**
 * Balanced Softmax (Ren et al., arXiv 2007.10740; jiawei-ren/BalancedMetaSoftmax, loss/BalancedSoftmaxLoss.py):
 *
 *     L = mean_n −log( n_y·e^{z_y} / Σ_c n_c·e^{z_c} ) = CE(z + log n, y)
 *
 * Counts or priors give the same loss (a constant shift per row). Predict with argmax z (no adjustment).
 *
 * @param logits       float32 `[N, C]`
 * @param labels       int32 `[N]`
 * @param classCounts  training count of each class (all positive), array or rank-1 tensor `[C]`
 * @returns scalar
 */
export function balancedSoftmaxLoss(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  classCounts: ClassVector,
  options?: CheckFiniteOption,
): tf.Scalar {
  const { checkFinite } = checkOptions<CheckFiniteOption>(options, FINITE_SPEC);
  const [n, c] = checkSingleLogits(logits);
  checkHardLabels(labels, c, n);
  const counts = checkClassVector(classCounts, c, 'classCounts');
  finiteCheck(checkFinite, { logits });
  return tf.tidy(() => {
    const shifted = tf.add(logits, tf.tensor1d(counts.map(Math.log), 'float32')) as tf.Tensor2D;
    return weightedCrossEntropy(tf.logSoftmax(shifted) as tf.Tensor2D, oneHotFloat(labels, c));
  });
}
