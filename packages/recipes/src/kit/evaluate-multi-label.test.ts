import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { averagePrecision, meanAveragePrecision } from '@distillery/train';
import { describe, expect, it } from 'vitest';
import { evaluateMultiLabel } from './evaluate-multi-label';

// Five images of 2 "pixels"; the model's logits are the pixels themselves, so the scores are their sigmoids.
const pixels = [
  [2, -1],
  [-3, 1],
  [0.5, 0.2],
  [-1, -2],
  [1, 3],
];
const targets = [
  [1, 0],
  [0, 1],
  [1, 0],
  [0, 0],
  [0, 1],
];
const dataset = {
  length: pixels.length,
  batch: (indices: ArrayLike<number>) => ({
    images: tf.tensor2d(Array.from(indices, (i) => pixels[i]!)),
    targets: tf.tensor2d(Array.from(indices, (i) => targets[i]!)),
  }),
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('evaluateMultiLabel', () => {
  it('scores every image in dataset order across batches, and reports mAP and per-class AP', async () => {
    const r = await evaluateMultiLabel(dataset, (x) => x, { targets, batchSize: 2 });
    expect(r.scores.length).toBe(5);
    for (const [i, row] of r.scores.entries()) {
      for (const [c, v] of row.entries()) expect(v).toBeCloseTo(sigmoid(pixels[i]![c]!), 6);
    }
    const ap = [0, 1].map((c) =>
      averagePrecision(
        targets.map((t) => t[c]!),
        r.scores.map((s) => s[c]!),
      ),
    );
    expect(r.perClassAP).toEqual(ap);
    expect(r.mAP).toBe(meanAveragePrecision(targets, r.scores));
    // class 0: positives 0 and 2 rank 1st and 3rd (scores 2, 1, 0.5 …) → AP = (1 + 2/3) / 2
    expect(r.perClassAP[0]).toBeCloseTo((1 + 2 / 3) / 2, 12);
  });

  it('frees every tensor of every batch', async () => {
    await assertNoTensorLeak(
      () => evaluateMultiLabel(dataset, (x) => x, { targets, batchSize: 2 }),
      3,
      'evaluateMultiLabel',
    );
  });
});
