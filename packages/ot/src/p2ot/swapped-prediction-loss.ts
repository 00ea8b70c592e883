import { assertLogits, assertSameShape, tf } from '@distillery/tensor';

/**
 * Swapped-prediction loss of P²OT (rhfeiyang/PPOT losses/losses.py `SK_loss.forward`; SwAV arXiv 2006.09882):
 *
 *     L = CE_soft(z₁, Q₂) + CE_soft(z₂, Q₁),   CE_soft(z, Q) = −mean_n Σ_k Q_nk·logSoftmax(z_n)_k
 *
 * Q₁, Q₂ are the pseudo-labels of the two views (constants: gradients flow into the logits only). Rows of Q sum to
 * ≤ 1, so low-mass samples contribute little (the implicit sample selection). Returns a scalar.
 */
export function swappedPredictionLoss(logits1: tf.Tensor, logits2: tf.Tensor, q1: tf.Tensor, q2: tf.Tensor): tf.Scalar {
  assertLogits(logits1, 'logits1');
  assertSameShape(logits1, logits2, 'logits1', 'logits2');
  assertSameShape(logits1, q1, 'logits1', 'q1');
  assertSameShape(logits1, q2, 'logits1', 'q2');
  return tf.tidy(() => {
    const ce = (z: tf.Tensor, q: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(q, tf.logSoftmax(z)), 1)));
    return tf.add(ce(logits1, q2), ce(logits2, q1)) as tf.Scalar;
  });
}
