import { checkNumber, describeValue, invalid, tf } from '@distillery/tensor';

/** What classMeans reads from a dataset: its size and a batch of images with their labels. */
export interface ClassMeansDataset {
  readonly length: number;
  batch(indices: ArrayLike<number>): { images: tf.Tensor4D; labels: tf.Tensor1D };
}

/**
 * The mean, per true class, of a per-image vector (`perImage(batch)` → [B, K], e.g. a model's soft labels):
 * a [C, K] matrix, row y the mean over the images of class y (zeros for a class without images). Batches of 250,
 * read asynchronously (no synchronous read: WebGPU in browsers); every tensor is freed.
 */
export async function classMeans(
  dataset: ClassMeansDataset,
  numClasses: number,
  perImage: (batch: { images: tf.Tensor4D; labels: tf.Tensor1D }) => tf.Tensor2D,
): Promise<number[][]> {
  if (!dataset || typeof dataset.batch !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'dataset', 'a dataset with length and batch(indices)', describeValue(dataset));
  }
  const C = checkNumber(numClasses, 'numClasses', { min: 1, integer: true });
  if (typeof perImage !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'perImage', 'a function (batch) => [B, K] tensor', describeValue(perImage));
  }
  let sums: Float64Array[] | undefined;
  const counts = new Float64Array(C);
  for (let start = 0; start < dataset.length; start += 250) {
    const b = dataset.batch(Array.from({ length: Math.min(250, dataset.length - start) }, (_, i) => start + i));
    let rows: number[][];
    let labels: ArrayLike<number>;
    try {
      const values = tf.tidy(() => perImage(b));
      try {
        if (values.rank !== 2 || values.shape[0] !== b.labels.shape[0]) {
          throw invalid(
            'INVALID_RANK',
            'perImage',
            `a [${b.labels.shape[0]}, K] tensor`,
            `[${values.shape.join(', ')}]`,
          );
        }
        labels = await b.labels.data();
        rows = (await values.array()) as number[][];
      } finally {
        values.dispose();
      }
    } finally {
      tf.dispose([b.images, b.labels]);
    }
    sums ??= Array.from({ length: C }, () => new Float64Array(rows[0]?.length ?? 0));
    for (let i = 0; i < rows.length; i++) {
      const y = labels[i]!;
      if (!(y >= 0 && y < C)) throw invalid('OUT_OF_RANGE', 'labels', `classes in [0, ${C})`, String(y));
      counts[y]! += 1;
      for (let k = 0; k < rows[i]!.length; k++) sums[y]![k]! += rows[i]![k]!;
    }
  }
  return (sums ?? []).map((row, y) => Array.from(row, (v) => (counts[y]! > 0 ? v / counts[y]! : 0)));
}
