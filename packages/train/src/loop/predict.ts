import { checkNumber } from '@distillery/tensor';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The predicted class (argmax of `forward`'s logits) of every item of a dataset, batch by batch, without a tape and
 * with every intermediate freed: what evaluation code calls before the metrics.
 */
export function predictClasses(
  dataset: { length: number; batch(indices: ArrayLike<number>): { images: tf.Tensor; labels?: tf.Tensor } },
  forward: (images: tf.Tensor) => tf.Tensor,
  options: { batchSize?: number } = {},
): Int32Array {
  const batchSize = checkNumber(options.batchSize ?? 128, 'options.batchSize', { min: 1, integer: true });
  const out = new Int32Array(dataset.length);
  for (let start = 0; start < dataset.length; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, dataset.length - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    const predicted = tf.tidy(() => tf.argMax(forward(batch.images), 1));
    out.set(predicted.dataSync(), start);
    tf.dispose([batch.images, batch.labels ?? [], predicted]);
  }
  return out;
}
