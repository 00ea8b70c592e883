import { classCounts, longTailCounts } from '@distillery/samplers';
import { describe, expect, it } from 'vitest';
import { longTailSplit } from './long-tail-split';
import { toyDataset } from './test-support';

describe('longTailSplit', () => {
  const pool = toyDataset([40, 40, 40]);

  it('keeps n_max · IF^(−c/(C−1)) images of class c, and the training set holds exactly those', () => {
    const { train, counts, indices } = longTailSplit(pool, { imbalanceFactor: 10, seed: 3 });
    expect(counts).toEqual(longTailCounts({ numClasses: 3, maxCount: 40, imbalanceFactor: 10 }));
    expect(train.length).toBe(indices.length);
    expect(classCounts(train.labels(), 3)).toEqual(counts);
    for (const [k, i] of indices.entries()) expect(train.label(k)).toBe(pool.label(i));
  });

  it('is a function of the seed, and maxCount caps the head', () => {
    const a = longTailSplit(pool, { imbalanceFactor: 10, seed: 1 });
    expect(longTailSplit(pool, { imbalanceFactor: 10, seed: 1 }).indices).toEqual(a.indices);
    expect(longTailSplit(pool, { imbalanceFactor: 10, seed: 2 }).indices).not.toEqual(a.indices);
    expect(longTailSplit(pool, { imbalanceFactor: 4, maxCount: 8 }).counts).toEqual([8, 4, 2]);
  });
});
