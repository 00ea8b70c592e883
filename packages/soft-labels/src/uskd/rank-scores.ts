import { assertLogits, assertSameShape, stopGradient, tf } from '@distillery/tensor';
import { disposeTargetColumns, gatherColumns, uskdTargetColumns } from './target-columns';

/**
 * The score USKD ranks classes by to build its Zipf non-target labels (arXiv 2303.13005; yzd-v/cls_KD,
 * mmcls/models/dis_losses/uskd.py), **including the reference's quirk**:
 *
 *     w  = softmax(weakLogits),  ls = logSoftmax(student)          (log-probabilities, not probabilities)
 *     score = w / (1 − Σ_labels w + 1e-6) + ls / (1 − Σ_labels ls + 1e-6)
 *
 * In the reference the variable for the final-head probabilities already holds log-softmax values when the ranking
 * line runs, so the second term is log p / (1 − log p_target). The log term, negative and larger in magnitude,
 * dominates the ranking. Reproduced for fidelity. The score is a constant (detached).
 *
 * @param student     float32 final-head logits `[N, C]`
 * @param weakLogits  float32 logits of the weak head fc(f_mid) `[N, C]`
 * @param labels      int32 `[N]` or float32 soft targets `[N, C]` (top-2 columns)
 * @returns float32 `[N, C]`
 */
export function uskdRankScores(student: tf.Tensor2D, weakLogits: tf.Tensor2D, labels: tf.Tensor): tf.Tensor2D {
  const [n, c] = assertLogits(student, 'student');
  assertLogits(weakLogits, 'weakLogits');
  assertSameShape(student, weakLogits, 'student', 'weakLogits');
  const columns = uskdTargetColumns(labels, c, 'labels', n);
  try {
    return tf.tidy(() => {
      const w = tf.softmax(stopGradient(weakLogits));
      const ls = tf.logSoftmax(stopGradient(student));
      const wT = tf.sum(gatherColumns(w, columns.labels), 1, true);
      const lsT = tf.sum(gatherColumns(ls, columns.labels), 1, true);
      return tf.add(tf.div(w, tf.add(tf.sub(1, wT), 1e-6)), tf.div(ls, tf.add(tf.sub(1, lsT), 1e-6))) as tf.Tensor2D;
    });
  } finally {
    disposeTargetColumns(columns);
  }
}
