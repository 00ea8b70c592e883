import { assertLabels, assertRank, checkNumber, oneHotFloat, stopGradient, tf } from '@distillery/tensor';
import { assertSoftTargets } from '../validation/soft-targets';

/**
 * Label smoothing, timm convention (also tf.losses' labelSmoothing and USKD's weak target with ε = 0.1):
 *
 *     y_ls = (1 − ε)·y + ε/C        off value ε/C, on value 1 − ε + ε/C
 *
 * where y is the one-hot of integer labels, or a soft target (USKD smooths mixup/cutmix scores as 0.9·y + 0.1/C).
 * The result is a constant.
 *
 * @param labels      int32 `[N]` class indices, or float32 `[N, C]` soft targets
 * @param numClasses  C
 * @param epsilon     ε in [0, 1]
 * @returns float32 `[N, C]`
 */
export function labelSmoothing(labels: tf.Tensor, numClasses: number, epsilon: number): tf.Tensor2D {
  checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
  checkNumber(epsilon, 'epsilon', { min: 0, max: 1 });
  const t = assertRank(labels, labels instanceof tf.Tensor && labels.rank === 2 ? 2 : 1, 'labels');
  if (t.rank === 2) {
    assertSoftTargets(t, 'labels', [null, numClasses]);
    return tf.tidy(() => tf.add(tf.mul(stopGradient(t), 1 - epsilon), epsilon / numClasses)) as tf.Tensor2D;
  }
  assertLabels(t, numClasses, 'labels');
  return tf.tidy(() =>
    tf.add(tf.mul(oneHotFloat(t as tf.Tensor1D, numClasses), 1 - epsilon), epsilon / numClasses),
  ) as tf.Tensor2D;
}
