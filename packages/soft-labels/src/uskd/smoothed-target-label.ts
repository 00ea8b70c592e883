import { assertLogits, stopGradient, tf } from '@distillery/tensor';
import { disposeTargetColumns, gatherColumns, uskdTargetColumns } from './target-columns';

/**
 * USKD smoothed target soft label (Yang et al., "From Knowledge Distillation to Self-Knowledge Distillation",
 * arXiv 2303.13005; yzd-v/cls_KD, mmcls/models/dis_losses/uskd.py):
 *
 *     s_t = softmax(z_s)[label]           [N, k]
 *     p̃  = s_t² + value − mean_n(s_t²)    (batch mean per column)
 *     p̃[value == 0] = 0
 *
 * Neither clipped nor normalised (with value 1 it lies in [0, 2]). The result is a constant: no gradient flows into
 * `student` through it.
 *
 * @param student  float32 logits `[N, C]` (the final head)
 * @param labels   int32 `[N]` (k = 1, value 1) or float32 soft targets `[N, C]` (top-2 pairs, k = 2)
 * @returns float32 `[N, k]`
 */
export function smoothedTargetLabel(student: tf.Tensor2D, labels: tf.Tensor): tf.Tensor2D {
  const [n, c] = assertLogits(student, 'student');
  const columns = uskdTargetColumns(labels, c, 'labels', n);
  try {
    return tf.tidy(() => {
      const probs = tf.softmax(stopGradient(student));
      const st2 = tf.square(gatherColumns(probs, columns.labels));
      const raw = tf.add(tf.sub(st2, tf.mean(st2, 0, true)), columns.values);
      return tf.where(tf.equal(columns.values, 0), tf.zerosLike(raw), raw) as tf.Tensor2D;
    });
  } finally {
    disposeTargetColumns(columns);
  }
}
