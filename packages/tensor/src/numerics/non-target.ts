import * as tf from '@tensorflow/tfjs-core';

/**
 * How far target logits are pushed down to leave a softmax. The references use 1000 (DKD's `logits − 1000·gt_mask`,
 * megvii-research/mdistiller, DKD.py), which stops being exact once a row's logits span more than ~1000·T (e.g.
 * ±1e4 logits): the target would leak into the "non-target" distribution. 1e9 is identical wherever 1000 suffices,
 * exact beyond: exp(−1e9) = 0 in float32, the other columns are untouched, and the masked column's log-probability
 * stays finite (≈ −1e9), so 0·log p is 0, not NaN.
 */
export const NON_TARGET_SHIFT = 1e9;

/**
 * `logits − shift·mask`: the softmax of the result is the distribution over the non-masked classes, renormalised,
 * with exactly 0 at the masked ones, and logSoftmax stays finite there. tfjs has no differentiable boolean mask, so
 * this is how every non-target term (DKD, NKD, USKD) drops the target column.
 */
export function maskTargetLogits(logits: tf.Tensor2D, mask: tf.Tensor2D, shift = NON_TARGET_SHIFT): tf.Tensor2D {
  return tf.tidy(() => tf.sub(logits, tf.mul(mask, shift))) as tf.Tensor2D;
}
