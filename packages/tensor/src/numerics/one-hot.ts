import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '../errors';
import { assertLabels } from '../validation';

/**
 * float32 one-hot `[N, C]` from integer labels `[N]` (float labels are cast). C = 1 gives a column of ones (tf.oneHot
 * itself needs C >= 2).
 */
export function oneHotFloat(labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  checkNumber(numClasses, 'numClasses', { min: 1, integer: true });
  // tf.oneHot turns a label outside [0, C) into an all-zero row: a silent loss of the sample. Refuse it.
  assertLabels(labels, numClasses, 'labels');
  if (numClasses === 1) return tf.ones([labels.shape[0], 1]);
  return tf.tidy(() => tf.cast(tf.oneHot(tf.cast(labels, 'int32'), numClasses), 'float32')) as tf.Tensor2D;
}

/**
 * `x[n, y_n]` as `[N, 1]`, computed as Σ_c x·onehot (keepDims): differentiable and shape-safe, the tfjs stand-in
 * for `torch.gather(x, 1, y[:, None])`. A multi-hot mask sums the selected columns.
 */
export function gatherByOneHot(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sum(tf.mul(x, mask), -1, true)) as tf.Tensor2D;
}
