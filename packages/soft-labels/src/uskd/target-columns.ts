import {
  assertDtype,
  assertLabels,
  assertLogits,
  assertRank,
  checkNumber,
  describeValue,
  formatShape,
  invalid,
  oneHotFloat,
  readSyncIfResident,
  stopGradient,
  tf,
} from '@distillery/tensor';
import { assertSoftTargets } from '../validation/soft-targets';

/** The label columns a USKD term is built on (yzd-v/cls_KD, mmcls/models/dis_losses/uskd.py). */
export interface TargetColumns {
  /** int32 `[N, k]`: the label class(es) of each row. */
  labels: tf.Tensor2D;
  /** float32 `[N, k]`: their target values (1 for hard labels, the mixed score for soft targets). */
  values: tf.Tensor2D;
  /** float32 `[N, C]`: multi-hot of `labels` (1 at every label column). */
  mask: tf.Tensor2D;
  /** 1 for hard labels, 2 for soft (mixup/cutmix) targets. */
  k: number;
}

/**
 * Hard labels `[N]` give k = 1 column with value 1; soft targets `[N, C]` (mixup/cutmix scores) give their top-2
 * (value, class) pairs, k = 2, as `torch.sort(gt_label, descending=True)[:, :2]` does in the reference. Every output
 * is a constant (detached). Ties among the top-2 are broken towards the lower class index (tf.topk); torch.sort is not
 * stable, so exact ties may pick a different class there.
 *
 * @param labels      int32 `[N]` class indices, or float32 `[N, C]` soft targets
 * @param numClasses  C
 * @param argument    the name used in errors
 * @param batchSize   N, when known (checked)
 */
export function uskdTargetColumns(
  labels: tf.Tensor,
  numClasses: number,
  argument = 'labels',
  batchSize?: number,
): TargetColumns {
  checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
  const t = assertRank(labels, labels instanceof tf.Tensor && labels.rank === 2 ? 2 : 1, argument);
  if (t.rank === 1) {
    assertLabels(t, numClasses, argument, batchSize);
    return tf.tidy(() => {
      const n = t.shape[0] as number;
      const mask = oneHotFloat(t as tf.Tensor1D, numClasses);
      return {
        labels: tf.reshape(tf.cast(t, 'int32'), [n, 1]) as tf.Tensor2D,
        values: tf.ones([n, 1]) as tf.Tensor2D,
        mask,
        k: 1,
      };
    });
  }
  assertSoftTargets(t, argument, [batchSize ?? null, numClasses]);
  const c = t.shape[1] as number;
  if (c < 2) throw invalid('OUT_OF_RANGE', argument, 'at least 2 classes for the top-2 soft-target path', `C = ${c}`);
  return tf.tidy(() => {
    const { values, indices } = tf.topk(stopGradient(t), 2);
    const mask = tf.cast(tf.sum(tf.oneHot(indices, numClasses), 1), 'float32') as tf.Tensor2D;
    return { labels: indices as tf.Tensor2D, values: values as tf.Tensor2D, mask, k: 2 };
  });
}

/** Disposes the tensors of a TargetColumns. */
export function disposeTargetColumns(columns: TargetColumns): void {
  const ok =
    typeof columns === 'object' &&
    columns !== null &&
    [columns.labels, columns.values, columns.mask].every((t) => t instanceof tf.Tensor);
  if (!ok)
    throw invalid('INVALID_ARGUMENT', 'columns', 'a TargetColumns from uskdTargetColumns', describeValue(columns));
  tf.dispose([columns.labels, columns.values, columns.mask]);
}

/** `x[n, labels[n, j]]` as `[N, k]` (differentiable in x): Σ_c x·onehot per label column. */
export function gatherColumns(x: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor2D {
  const [n, c] = assertLogits(x, 'x');
  const l = assertRank(labels, 2, 'labels');
  assertDtype(l, ['int32'], 'labels');
  if (l.shape[0] !== n) {
    throw invalid('SHAPE_MISMATCH', 'labels', `${n} rows (one per row of x)`, `shape ${formatShape(l.shape)}`);
  }
  const values = readSyncIfResident(l);
  const bad = values ? values.findIndex((v) => v < 0 || v >= c) : -1;
  if (values && bad >= 0) {
    throw invalid('OUT_OF_RANGE', 'labels', `class indices in [0, ${c})`, `${values[bad]} at flat index ${bad}`);
  }
  return tf.tidy(() => {
    const c = x.shape[1] as number;
    const oneHot = tf.cast(tf.oneHot(labels, c), 'float32'); // [N, k, C]
    return tf.sum(tf.mul(tf.expandDims(x, 1), oneHot), -1) as tf.Tensor2D;
  });
}
