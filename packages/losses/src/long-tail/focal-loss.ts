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

export interface FocalLossOptions extends CheckFiniteOption {
  /** γ. Default 2 (Lin et al.); kaidic/LDAM-DRW's cifar_train.py passes 1, its FocalLoss class defaults to 0. */
  gamma?: number;
  /** Per-class weights w `[C]`, applied inside the CE as in LDAM-DRW (see the quirk below). */
  classWeights?: ClassVector;
}

/**
 * Softmax focal loss as kaidic/LDAM-DRW, losses.py computes it (`focal_loss` + `FocalLoss`; also fistyee/MDCS):
 *
 *     ℓ_n = CE_n = −w_{y_n}·log p_{n,y_n}      (reduction 'none', class-weighted if w is given)
 *     p_n = exp(−ℓ_n)
 *     L   = mean_n (1 − p_n)^γ · ℓ_n
 *
 * Quirks of the reference, reproduced: with class weights p = exp(−w·CE) is not p_t, and the mean is a plain mean
 * (not divided by Σw). The gradient flows through (1 − p)^γ as well (nothing is detached). Where 1 − p is 0 in float32
 * (a sample right by a margin of ~17 or more), the term and its gradient are 0, also for γ < 1 (whose (1 − p)^γ has an
 * infinite slope there); 1 − p is computed as ce·(1 − ce/2) for ce < 1e-3, where 1 − exp(−ce) loses its digits. This is the softmax
 * variant (no α); detection's per-class sigmoid focal loss (α = 0.25) is a different function.
 *
 * @param logits  float32 `[N, C]`
 * @param labels  int32 `[N]`
 * @returns scalar
 */
export function focalLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, options?: FocalLossOptions): tf.Scalar {
  const {
    gamma = 2,
    classWeights,
    checkFinite,
  } = checkOptions<FocalLossOptions>(options, {
    gamma: true,
    classWeights: true,
    ...FINITE_SPEC,
  });
  checkNumber(gamma, 'options.gamma', { min: 0 });
  const [n, c] = checkSingleLogits(logits);
  checkHardLabels(labels, c, n);
  const weights =
    classWeights === undefined
      ? undefined
      : checkClassVector(classWeights, c, 'options.classWeights', { allowZero: true });
  finiteCheck(checkFinite, { logits });
  return tf.tidy(() => {
    const g = oneHotFloat(labels, c);
    let ce = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), g), 1));
    if (weights) ce = tf.mul(ce, tf.sum(tf.mul(g, tf.tensor1d(weights, 'float32')), 1));
    if (gamma === 0) return tf.mean(ce) as tf.Scalar;
    // 1 − p: the series ce − ce²/2 where exp(−ce) rounds towards 1, the plain form elsewhere.
    const small = tf.less(ce, 1e-3);
    const oneMinusP = tf.where(small, tf.mul(ce, tf.sub(1, tf.div(ce, 2))), tf.sub(1, tf.exp(tf.neg(ce))));
    // (1 − p)^γ has an infinite derivative at 1 − p = 0 when γ < 1; the product (1 − p)^γ·ce has derivative 0 there.
    // Evaluate pow at a safe base for those rows and select 0, so that no ∞·0 reaches the gradient.
    const zero = tf.lessEqual(oneMinusP, 0);
    const safeBase = tf.where(zero, tf.onesLike(oneMinusP), oneMinusP);
    const modulator = tf.where(zero, tf.zerosLike(oneMinusP), tf.pow(safeBase, gamma));
    return tf.mean(tf.mul(modulator, ce)) as tf.Scalar;
  });
}
