import { assertLogits, checkNumber, checkOptions, invalid, stopGradient, tf } from '@distillery/tensor';
import { disposeTargetColumns, uskdTargetColumns } from './target-columns';

export interface ZipfNonTargetOptions {
  /** Zipf exponent s in 1/rank^s. The reference uses 1. */
  exponent?: number;
}

/**
 * USKD Zipf non-target soft labels (arXiv 2303.13005; yzd-v/cls_KD, mmcls/models/dis_losses/uskd.py):
 *
 *     pos   = rank of each class by `rankScores`, descending (0 = top; the label classes take part)
 *     zipf  = 1 / (pos + 1)^exponent
 *     ẑ     = zipf with the label column(s) set to 0, renormalised to sum 1 over the non-target columns
 *
 * Ranking uses tf.topk twice (argsort, then its inverse permutation), O(C log C) per row, on detached values; ties go
 * to the lower class index (torch.sort is not stable, so exact ties may rank differently there). The result is a
 * constant.
 *
 * @param rankScores  float32 `[N, C]`, e.g. from `uskdRankScores`
 * @param labels      int32 `[N]` or float32 soft targets `[N, C]` (their top-2 classes are the labels)
 * @returns float32 `[N, C]`, rows summing to 1, zero at the label columns
 */
export function zipfNonTargetLabels(
  rankScores: tf.Tensor2D,
  labels: tf.Tensor,
  options?: ZipfNonTargetOptions,
): tf.Tensor2D {
  const { exponent = 1 } = checkOptions<ZipfNonTargetOptions>(options, { exponent: true });
  checkNumber(exponent, 'options.exponent', { min: 0 });
  const [n, c] = assertLogits(rankScores, 'rankScores', 2);
  const columns = uskdTargetColumns(labels, c, 'labels', n);
  if (c - columns.k < 1) {
    disposeTargetColumns(columns);
    throw invalid('OUT_OF_RANGE', 'rankScores', `at least ${columns.k + 1} classes (a non-target class)`, `C = ${c}`);
  }
  try {
    return tf.tidy(() => {
      const order = tf.topk(stopGradient(rankScores), c).indices;
      const pos = tf.topk(tf.neg(tf.cast(order, 'float32')), c).indices;
      const zipf = tf.pow(tf.add(tf.cast(pos, 'float32'), 1), -exponent);
      const nonTarget = tf.mul(zipf, tf.sub(1, columns.mask));
      return tf.div(nonTarget, tf.sum(nonTarget, 1, true)) as tf.Tensor2D;
    });
  } finally {
    disposeTargetColumns(columns);
  }
}
