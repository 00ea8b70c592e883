import { assertLogits, assertRank, invalid, tf } from '@distillery/tensor';

/**
 * FixMatch / FlexMatch unlabeled loss: masked hard-label cross-entropy on the strong view,
 *
 *     L_u = (1/N) · Σ_b m_b · CE(z_strong,b, ŷ_b)
 *
 * normalised by ALL N unlabeled samples (not Σ m), as the official code. `labels` int32 [N] and `mask` float32 [N]
 * are constants (from `confidencePseudoLabels`). Returns a scalar; differentiable in `strongLogits`.
 */
export function maskedConsistencyLoss(strongLogits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  const [n, c] = assertLogits(strongLogits, 'strongLogits', 2);
  assertRank(labels, 1, 'labels');
  assertRank(mask, 1, 'mask');
  if (labels.shape[0] !== n) throw invalid('SHAPE_MISMATCH', 'labels', `shape [${n}]`, `shape [${labels.shape[0]}]`);
  if (mask.shape[0] !== n) throw invalid('SHAPE_MISMATCH', 'mask', `shape [${n}]`, `shape [${mask.shape[0]}]`);
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), c);
    const ce = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(strongLogits)), 1));
    return tf.div(tf.sum(tf.mul(ce, tf.cast(mask, 'float32'))), n) as tf.Scalar;
  });
}
