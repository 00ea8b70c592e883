import { checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';

type Dataset = { length: number; batch(indices: ArrayLike<number>): { images: tf.Tensor; labels?: tf.Tensor } };

export interface PredictOptions {
  /** Items per forward pass (default 128). */
  batchSize?: number;
}

/** The argmax predictions of `dataset`, one batch at a time: each yielded tensor is disposed by the consumer. */
function* predictionBatches(
  dataset: Dataset,
  forward: (images: tf.Tensor) => tf.Tensor,
  options: PredictOptions | undefined,
): Generator<{ start: number; predicted: tf.Tensor }> {
  const o = checkOptions<PredictOptions>(options, { batchSize: true });
  const batchSize = checkNumber(o.batchSize ?? 128, 'options.batchSize', { min: 1, integer: true });
  if (!dataset || typeof dataset.batch !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'dataset', 'a dataset with length and batch(indices)', describeValue(dataset));
  }
  checkNumber(dataset.length, 'dataset.length', { min: 0, integer: true });
  if (typeof forward !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'forward', 'a function (images) => logits [N, C]', describeValue(forward));
  }
  for (let start = 0; start < dataset.length; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, dataset.length - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    let predicted: tf.Tensor;
    try {
      predicted = tf.tidy(() => {
        const logits = forward(batch.images);
        if (!(logits instanceof tf.Tensor) || logits.rank !== 2 || logits.shape[0] !== indices.length) {
          throw invalid(
            'INVALID_RANK',
            'forward',
            `logits of shape [${indices.length}, C] (one row per image)`,
            logits instanceof tf.Tensor ? `shape [${logits.shape.join(', ')}]` : describeValue(logits),
          );
        }
        return tf.argMax(logits, 1);
      });
    } finally {
      tf.dispose([batch.images, batch.labels ?? []]);
    }
    yield { start, predicted };
  }
}

/**
 * The predicted class (argmax of `forward`'s logits) of every item of a dataset, batch by batch, without a tape and
 * with every intermediate freed: what evaluation code calls before the metrics. The predictions are read back
 * synchronously (dataSync); `predictClassesAsync` reads them with `await tensor.data()` (WebGPU in browsers).
 */
export function predictClasses(
  dataset: Dataset,
  forward: (images: tf.Tensor) => tf.Tensor,
  options?: PredictOptions,
): Int32Array {
  const out = new Int32Array(dataset.length);
  for (const { start, predicted } of predictionBatches(dataset, forward, options)) {
    try {
      out.set(predicted.dataSync(), start);
    } finally {
      predicted.dispose();
    }
  }
  return out;
}

/** `predictClasses` with asynchronous reads: no synchronous read of a device tensor. */
export async function predictClassesAsync(
  dataset: Dataset,
  forward: (images: tf.Tensor) => tf.Tensor,
  options?: PredictOptions,
): Promise<Int32Array> {
  const out = new Int32Array(dataset.length);
  for (const { start, predicted } of predictionBatches(dataset, forward, options)) {
    try {
      out.set(await predicted.data(), start);
    } finally {
      predicted.dispose();
    }
  }
  return out;
}
