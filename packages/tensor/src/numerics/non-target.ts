import * as tf from '@tensorflow/tfjs-core';

/**
 * The distance logits are pushed down to leave a softmax: exp(−1000) is exactly 0 in float32, and logits this far
 * apart still subtract exactly (DKD's `logits − 1000·gt_mask`, megvii-research/mdistiller, DKD.py).
 */
export const NON_TARGET_SHIFT = 1000;

/**
 * `logits − 1000·mask`: the softmax of the result is the distribution over the non-masked classes, renormalised,
 * with exactly 0 at the masked ones, and logSoftmax stays finite (≈ −1000) there. tfjs has no differentiable
 * boolean mask, so this is how every non-target term (DKD, NKD, USKD) drops the target column.
 */
export function maskTargetLogits(logits: tf.Tensor2D, mask: tf.Tensor2D, shift = NON_TARGET_SHIFT): tf.Tensor2D {
  return tf.tidy(() => tf.sub(logits, tf.mul(mask, shift))) as tf.Tensor2D;
}
