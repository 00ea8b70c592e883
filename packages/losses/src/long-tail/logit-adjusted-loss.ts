import { checkNumber, checkOptions, oneHotFloat, tf } from '@distillery/tensor';
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

export interface LogitAdjustedLossOptions extends CheckFiniteOption {
  /** τ >= 0. Default 1 (at τ = 1 the loss equals Balanced Softmax, up to the 1e-12 below). */
  tau?: number;
}

/**
 * Logit-adjusted loss (Menon et al., arXiv 2007.07314, eq. 10; google-research/google-research @ccc94ce,
 * logit_adjustment/utils.py `build_loss_fn`):
 *
 *     L = mean_n CE(z + log(π^τ + 1e-12), y)
 *
 * π are the class priors n_c / Σ n (counts give the same loss: a constant shift per row). The post-hoc variant is
 * argmax(z − τ·log π) on a plain-CE model.
 *
 * @param logits       float32 `[N, C]`
 * @param labels       int32 `[N]`
 * @param classPriors  positive prior (or count) of each class `[C]`
 * @returns scalar
 */
export function logitAdjustedLoss(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  classPriors: ClassVector,
  options?: LogitAdjustedLossOptions,
): tf.Scalar {
  const { tau = 1, checkFinite } = checkOptions<LogitAdjustedLossOptions>(options, { tau: true, ...FINITE_SPEC });
  checkNumber(tau, 'options.tau', { min: 0 });
  const [n, c] = checkSingleLogits(logits);
  checkHardLabels(labels, c, n);
  const priors = checkClassVector(classPriors, c, 'classPriors');
  finiteCheck(checkFinite, { logits });
  return tf.tidy(() => {
    const shifted = tf.add(
      logits,
      tf.tensor1d(
        priors.map((p) => Math.log(p ** tau + 1e-12)),
        'float32',
      ),
    ) as tf.Tensor2D;
    return weightedCrossEntropy(tf.logSoftmax(shifted) as tf.Tensor2D, oneHotFloat(labels, c));
  });
}
