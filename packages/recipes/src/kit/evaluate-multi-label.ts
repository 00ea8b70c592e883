import { checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';
import { averagePrecision, meanAveragePrecision } from '@distillery/train';

/** What evaluateMultiLabel reads from a dataset: its size and a batch of images (other tensors of a batch are freed). */
export interface MultiLabelDataset {
  readonly length: number;
  batch(indices: ArrayLike<number>): { images: tf.Tensor; [other: string]: tf.Tensor };
}

export interface EvaluateMultiLabelOptions {
  /** The full 0/1 label set of every image, [N][C] in dataset order. */
  targets: readonly (readonly number[])[];
  /** Images per forward pass (default 100). */
  batchSize?: number;
}

export interface MultiLabelEvaluation {
  /** Sigmoid scores, [N][C]. */
  scores: number[][];
  /** Mean over the classes with a positive of each class's average precision (meanAveragePrecision). */
  mAP: number;
  /** Average precision of each class (NaN for a class without a positive). */
  perClassAP: number[];
}

/**
 * A multi-label model's test numbers in one call: the sigmoid of `logits(images)` over the whole set in batches, read
 * asynchronously (no synchronous read: WebGPU in browsers), then mAP and per-class AP against `targets`.
 *
 *     const { mAP, perClassAP } = await evaluateMultiLabel(test, (x) => model.forward(x).logits, { targets });
 */
export async function evaluateMultiLabel(
  dataset: MultiLabelDataset,
  logits: (images: tf.Tensor) => tf.Tensor,
  options: EvaluateMultiLabelOptions,
): Promise<MultiLabelEvaluation> {
  const scores = await multiLabelScores(dataset, logits, options);
  const targets = options.targets as number[][];
  const numClasses = targets[0]?.length ?? 0;
  const perClassAP = Array.from({ length: numClasses }, (_, c) =>
    averagePrecision(
      targets.map((r) => r[c]!),
      scores.map((r) => r[c]!),
    ),
  );
  return { scores, mAP: meanAveragePrecision(targets, scores), perClassAP };
}

/** The sigmoid scores of evaluateMultiLabel alone, [N][C] (e.g. for a per-epoch mAP inside fit's `evaluate`). */
export async function multiLabelScores(
  dataset: MultiLabelDataset,
  logits: (images: tf.Tensor) => tf.Tensor,
  options: EvaluateMultiLabelOptions,
): Promise<number[][]> {
  const o = checkOptions<EvaluateMultiLabelOptions>(options ?? null, { targets: true, batchSize: true });
  if (!dataset || typeof dataset.batch !== 'function' || !Number.isInteger(dataset.length) || dataset.length < 1) {
    throw invalid(
      'INVALID_ARGUMENT',
      'dataset',
      'a non-empty dataset with length and batch(indices)',
      describeValue(dataset),
    );
  }
  if (typeof logits !== 'function') throw invalid('INVALID_ARGUMENT', 'logits', 'a function', describeValue(logits));
  const n = dataset.length;
  const t = o.targets;
  if (
    !Array.isArray(t) ||
    t.length !== n ||
    !t.every((r) => Array.isArray(r) && r.length === t[0]!.length && r.length > 0)
  ) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.targets',
      `${n} label rows of one length (one per image)`,
      describeValue(t),
    );
  }
  const batchSize = checkNumber(o.batchSize ?? 100, 'options.batchSize', { min: 1, integer: true });
  const out: number[][] = [];
  for (let start = 0; start < n; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    try {
      const p = tf.tidy(() => tf.sigmoid(logits(batch.images)));
      try {
        out.push(...((await p.array()) as number[][]));
      } finally {
        p.dispose();
      }
    } finally {
      tf.dispose(Object.values(batch));
    }
  }
  if (out[0]!.length !== t[0]!.length) {
    throw invalid('SHAPE_MISMATCH', 'logits', `[batch, ${t[0]!.length}] logits`, `[batch, ${out[0]!.length}]`);
  }
  return out;
}
