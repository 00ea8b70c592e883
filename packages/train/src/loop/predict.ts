import { checkNumber } from '@distillery/tensor';
import * as tf from '@tensorflow/tfjs-core';

type Dataset = { length: number; batch(indices: ArrayLike<number>): { images: tf.Tensor; labels?: tf.Tensor } };

/** The argmax predictions of `dataset`, one batch at a time: each yielded tensor is disposed by the consumer. */
function* predictionBatches(
  dataset: Dataset,
  forward: (images: tf.Tensor) => tf.Tensor,
  options: { batchSize?: number },
): Generator<{ start: number; predicted: tf.Tensor }> {
  const batchSize = checkNumber(options.batchSize ?? 128, 'options.batchSize', { min: 1, integer: true });
  for (let start = 0; start < dataset.length; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, dataset.length - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    const predicted = tf.tidy(() => tf.argMax(forward(batch.images), 1));
    tf.dispose([batch.images, batch.labels ?? []]);
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
  options: { batchSize?: number } = {},
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
  options: { batchSize?: number } = {},
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
