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

export interface LdamLossOptions extends CheckFiniteOption {
  /** The largest margin max_m (given to the rarest class). Default 0.5 (kaidic/LDAM-DRW, losses.py). */
  maxMargin?: number;
  /** Logit scale s. Default 30. */
  scale?: number;
  /** Per-class weights (DRW: `effectiveNumberWeights(counts)` of @distillery/samplers from the DRW epoch on); Σw-normalised mean. */
  classWeights?: ClassVector;
}

/**
 * LDAM loss (Cao et al., arXiv 1906.07413; kaidic/LDAM-DRW, losses.py `LDAMLoss`):
 *
 *     Δ_c = K / n_c^{1/4},  K such that max_c Δ_c = maxMargin
 *     L   = CE( s·(z − Δ_y·onehot(y)), y ; weight = w )          margin on the true-class logit only
 *
 * The weighted mean divides by Σ_n w_{y_n} (PyTorch weighted CE).
 *
 * @param logits       float32 `[N, C]` (LDAM-DRW uses a cosine NormedLinear head, so |z| <= 1)
 * @param labels       int32 `[N]`
 * @param classCounts  training count of each class (positive) `[C]`
 * @returns scalar
 */
export function ldamLoss(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  classCounts: ClassVector,
  options?: LdamLossOptions,
): tf.Scalar {
  const {
    maxMargin = 0.5,
    scale = 30,
    classWeights,
    checkFinite,
  } = checkOptions<LdamLossOptions>(options, {
    maxMargin: true,
    scale: true,
    classWeights: true,
    ...FINITE_SPEC,
  });
  checkNumber(maxMargin, 'options.maxMargin', { min: 0 });
  checkNumber(scale, 'options.scale', { min: 0, minExclusive: true });
  const [n, c] = checkSingleLogits(logits);
  checkHardLabels(labels, c, n);
  const counts = checkClassVector(classCounts, c, 'classCounts');
  const weights =
    classWeights === undefined
      ? undefined
      : checkClassVector(classWeights, c, 'options.classWeights', { allowZero: true });
  finiteCheck(checkFinite, { logits });
  const raw = counts.map((v) => 1 / Math.sqrt(Math.sqrt(v)));
  const largest = Math.max(...raw);
  const margins = raw.map((m) => (m * maxMargin) / largest);
  return tf.tidy(() => {
    const g = oneHotFloat(labels, c);
    const margin = tf.sum(tf.mul(g, tf.tensor1d(margins, 'float32')), 1, true);
    const adjusted = tf.mul(tf.sub(logits, tf.mul(g, margin)), scale) as tf.Tensor2D;
    return weightedCrossEntropy(tf.logSoftmax(adjusted) as tf.Tensor2D, g, weights);
  });
}
