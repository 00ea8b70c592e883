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
import { fusedLossesActive, runFused } from '../internal/fused/kernels';

export interface CrossEntropyOptions extends CheckFiniteOption {
  /** ε of label smoothing (PyTorch `label_smoothing`, timm convention: (1 − ε)·onehot + ε/C). Default 0. */
  labelSmoothing?: number;
  /** Per-class weights w `[C]` (PyTorch `weight`); the mean is Σ_n w_{y_n}·ℓ_n / Σ_n w_{y_n}. */
  classWeights?: ClassVector;
}

/**
 * Softmax cross-entropy with PyTorch `F.cross_entropy` semantics (mean reduction):
 *
 *     ℓ_n = −(1 − ε)·w_{y_n}·log p_{n,y_n} − (ε/C)·Σ_c w_c·log p_{n,c}
 *     L   = Σ_n ℓ_n / Σ_n w_{y_n}          (w ≡ 1 without classWeights: the plain mean)
 *
 * This is the weighted-CE normaliser of PyTorch, not tf.losses.softmaxCrossEntropy's (which divides by the number of
 * non-zero weights). A batch whose weights sum to 0 gives 0 (PyTorch gives NaN).
 *
 * @param logits  float32 `[N, C]`
 * @param labels  int32 `[N]`
 * @returns scalar
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, options?: CrossEntropyOptions): tf.Scalar {
  const {
    labelSmoothing = 0,
    classWeights,
    checkFinite,
  } = checkOptions<CrossEntropyOptions>(options, {
    labelSmoothing: true,
    classWeights: true,
    ...FINITE_SPEC,
  });
  checkNumber(labelSmoothing, 'options.labelSmoothing', { min: 0, max: 1 });
  const [n, c] = checkSingleLogits(logits);
  checkHardLabels(labels, c, n);
  const weights =
    classWeights === undefined
      ? undefined
      : checkClassVector(classWeights, c, 'options.classWeights', { allowZero: true });
  finiteCheck(checkFinite, { logits });
  if (fusedLossesActive()) {
    return runFused('DistilleryCrossEntropy', { logits, labels }, { labelSmoothing, weights: weights ?? [], scale: 1 });
  }
  return tf.tidy(() =>
    weightedCrossEntropy(tf.logSoftmax(logits) as tf.Tensor2D, oneHotFloat(labels, c), weights, labelSmoothing),
  );
}

/**
 * Σ_n ℓ_n / Σ_n w_{y_n} from log-probabilities and a one-hot target (the body of crossEntropy, shared by the
 * losses that are "CE of adjusted logits").
 */
export function weightedCrossEntropy(
  logProbs: tf.Tensor2D,
  oneHot: tf.Tensor2D,
  weights?: number[],
  labelSmoothing = 0,
): tf.Scalar {
  return tf.tidy(() => {
    const c = logProbs.shape[1] as number;
    const w = weights ? tf.tensor1d(weights, 'float32') : undefined;
    const weighted = w ? tf.mul(logProbs, w) : logProbs;
    const nll = tf.neg(tf.sum(tf.mul(weighted, oneHot), 1));
    let perRow = nll;
    if (labelSmoothing > 0) {
      const smooth = tf.neg(tf.sum(weighted, 1));
      perRow = tf.add(tf.mul(nll, 1 - labelSmoothing), tf.mul(smooth, labelSmoothing / c));
    }
    if (!w) return tf.mean(perRow) as tf.Scalar;
    const rowWeights = tf.sum(tf.mul(oneHot, w), 1);
    return tf.divNoNan(tf.sum(perRow), tf.sum(rowWeights)) as tf.Scalar;
  });
}
