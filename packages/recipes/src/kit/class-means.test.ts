import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { classMeans } from './class-means';
import { toyDataset } from './test-support';

describe('classMeans', () => {
  it('averages a per-image vector over the images of each true class', async () => {
    // 300 images (two batches of 250 and 50): class 0 ×100, class 1 ×200; the vector is [pixel 0, label].
    const data = toyDataset([100, 200]);
    const means = await classMeans(
      data,
      3,
      ({ images, labels }) =>
        tf.stack(
          [tf.reshape(tf.slice(images, [0, 0, 0, 0], [-1, 1, 1, 1]), [-1]), tf.cast(labels, 'float32')],
          1,
        ) as tf.Tensor2D,
    );
    const pixel0 = (c: number) => {
      const idx = Array.from(data.labels()).flatMap((y, i) => (y === c ? [i] : []));
      const b = data.batch(idx);
      const v = tf.mean(tf.slice(b.images, [0, 0, 0, 0], [-1, 1, 1, 1])).dataSync()[0]!;
      tf.dispose([b.images, b.labels]);
      return v;
    };
    expect(means).toHaveLength(3);
    expect(means[0]![0]).toBeCloseTo(pixel0(0), 5);
    expect(means[1]![0]).toBeCloseTo(pixel0(1), 5);
    expect(means.map((r) => r[1])).toEqual([0, 1, 0]);
    expect(means[2]).toEqual([0, 0]);
    await assertNoTensorLeak(() => classMeans(data, 2, ({ labels }) => tf.oneHot(labels, 2) as tf.Tensor2D), 2);
  });
});
