import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { predictClasses } from './predict';

// A dataset whose image n is the one-hot of class n mod 3: the identity "model" predicts n mod 3.
const dataset = {
  length: 7,
  batch: (indices: ArrayLike<number>) => ({
    images: tf.tidy(() =>
      tf.oneHot(
        tf.tensor1d(
          Array.from(indices, (i) => i % 3),
          'int32',
        ),
        3,
      ),
    ),
    labels: tf.tensor1d(
      Array.from(indices, (i) => i % 3),
      'int32',
    ),
  }),
};

describe('predictClasses', () => {
  it('predicts every item across uneven batches and frees what it allocates', async () => {
    expect(Array.from(predictClasses(dataset, (x) => tf.mul(x, 2), { batchSize: 3 }))).toEqual([0, 1, 2, 0, 1, 2, 0]);
    await assertNoTensorLeak(() => predictClasses(dataset, (x) => tf.mul(x, 2), { batchSize: 2 }), 5, 'predictClasses');
    expect(() => predictClasses(dataset, (x) => x, { batchSize: 0 })).toThrowError(/options.batchSize/);
  });
});
