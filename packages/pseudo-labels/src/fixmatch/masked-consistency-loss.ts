import { assertLogits, assertRank, invalid, tf } from '@distillery/tensor';

/**
 * FixMatch / FlexMatch unlabeled loss: masked hard-label cross-entropy on the strong view,
 *
 *     L_u = (1/N) · Σ_b m_b · CE(z_strong,b, ŷ_b)
 *
 * normalised by ALL N unlabeled samples (not Σ m), as the official code. `labels` int32 [N] and `mask` float32 [N]
 * are constants (from `confidencePseudoLabels`); labels must lie in [0, C) and mask in [0, 1]. Returns a scalar;
 * differentiable in `strongLogits`.
 */
export function maskedConsistencyLoss(strongLogits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  const [n, c] = assertLogits(strongLogits, 'strongLogits', 2);
  assertRank(labels, 1, 'labels');
  assertRank(mask, 1, 'mask');
  if (labels.shape[0] !== n) throw invalid('SHAPE_MISMATCH', 'labels', `shape [${n}]`, `shape [${labels.shape[0]}]`);
  if (mask.shape[0] !== n) throw invalid('SHAPE_MISMATCH', 'mask', `shape [${n}]`, `shape [${mask.shape[0]}]`);
  // tf.oneHot turns an out-of-range label into an all-zero row (CE 0): a silent wrong loss, so check on the host.
  const y = labels.dataSync();
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(y[i]) || y[i]! < 0 || y[i]! >= c) {
      throw invalid('OUT_OF_RANGE', 'labels', `class ids in [0, ${c})`, `${y[i]} at position ${i}`);
    }
  }
  const m = mask.dataSync();
  for (let i = 0; i < n; i++) {
    if (!(m[i]! >= 0 && m[i]! <= 1))
      throw invalid('OUT_OF_RANGE', 'mask', 'values in [0, 1]', `${m[i]} at position ${i}`);
  }
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), c);
    const ce = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(strongLogits)), 1));
    return tf.div(tf.sum(tf.mul(ce, tf.cast(mask, 'float32'))), n) as tf.Scalar;
  });
}
