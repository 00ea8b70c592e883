import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { evaluateClassifier } from './evaluate-classifier';
import { toyDataset } from './test-support';

describe('evaluateClassifier', () => {
  // Labels 0 0 1 1 2 2 3 3; the "model" predicts from a fixed table, one row per image.
  const test = toyDataset([2, 2, 2, 2].slice(0, 3));
  const predicted = [0, 1, 1, 1, 2, 0];
  let offset = 0;
  const forward = (images: tf.Tensor) => {
    const n = images.shape[0]!;
    const rows = predicted.slice(offset, offset + n);
    offset = (offset + n) % predicted.length;
    return tf.cast(tf.oneHot(tf.tensor1d(rows, 'int32'), 3), 'float32');
  };

  it('gives overall, head / mid / tail, per-class accuracy, the confusion matrix and the agreement', async () => {
    offset = 0;
    const r = await evaluateClassifier(test, forward, {
      numClasses: 3,
      cutpoints: [1, 2],
      reference: [0, 0, 1, 1, 2, 2],
      batchSize: 4,
    });
    expect(Array.from(r.predicted)).toEqual(predicted);
    expect(r.overall).toBeCloseTo(4 / 6, 12);
    expect(r.perClass).toEqual([0.5, 1, 0.5]);
    expect([r.head, r.mid, r.tail]).toEqual([0.5, 1, 0.5]);
    expect(r.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
    expect(r.agreement).toBeCloseTo(4 / 6, 12);
  });

  it('leaves out the groups and the agreement when not asked for, and frees every tensor', async () => {
    offset = 0;
    const r = await evaluateClassifier(test, forward, { numClasses: 3 });
    expect(r.head).toBeUndefined();
    expect(r.agreement).toBeUndefined();
    await assertNoTensorLeak(async () => {
      offset = 0;
      await evaluateClassifier(test, forward, { numClasses: 3, cutpoints: [1, 2] });
    }, 3);
  });
});
