import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/long-tail.json';
import { classCounts } from './class-counts';
import { longTailCounts } from './long-tail-counts';
import { longTailSubset } from './long-tail-subset';

describe('longTailCounts', () => {
  it('reproduces every CIFAR-10/100-LT count table of the reference formula exactly', () => {
    expect(fixture.counts.length).toBe(12);
    for (const row of fixture.counts) {
      const counts = longTailCounts({
        numClasses: row.numClasses,
        maxCount: row.maxCount,
        imbalanceFactor: row.imbalanceFactor,
        profile: row.profile as 'exp' | 'step',
      });
      expect(counts).toEqual(row.counts);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(row.total);
    }
  });

  it('matches the card: CIFAR-10-LT IF100 table and totals', () => {
    expect(longTailCounts({ numClasses: 10, maxCount: 5000, imbalanceFactor: 100 })).toEqual([
      5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50,
    ]);
    const total = (C: number, n: number, IF: number) =>
      longTailCounts({ numClasses: C, maxCount: n, imbalanceFactor: IF }).reduce((a, b) => a + b, 0);
    expect([total(10, 5000, 100), total(10, 5000, 50), total(10, 5000, 10)]).toEqual([12406, 13996, 20431]);
    expect([total(100, 500, 100), total(100, 500, 50), total(100, 500, 10)]).toEqual([10847, 12608, 19573]);
    const c100 = longTailCounts({ numClasses: 100, maxCount: 500, imbalanceFactor: 100 });
    expect(c100.slice(0, 5)).toEqual([500, 477, 455, 434, 415]);
    expect(c100[99]).toBe(5);
  });

  it('rejects an imbalance factor < 1 and a bad profile', () => {
    expect(() => longTailCounts({ numClasses: 10, maxCount: 50, imbalanceFactor: 0.5 })).toThrow(
      /options.imbalanceFactor/,
    );
    expect(() =>
      longTailCounts({ numClasses: 10, maxCount: 50, imbalanceFactor: 10, profile: 'linear' as 'exp' }),
    ).toThrow(DistilleryError);
  });
});

describe('longTailSubset', () => {
  const labels = Array.from({ length: 1000 }, (_, i) => i % 10); // 100 per class, interleaved

  it('keeps n_i samples of class i, in class order, from the right class, without duplicates', () => {
    const { indices, counts } = longTailSubset(labels, { imbalanceFactor: 10, seed: 3 });
    expect(counts).toEqual(longTailCounts({ numClasses: 10, maxCount: 100, imbalanceFactor: 10 }));
    expect(indices.length).toBe(counts.reduce((a, b) => a + b, 0));
    expect(new Set(indices).size).toBe(indices.length);
    expect(
      classCounts(
        Array.from(indices, (i) => labels[i]!),
        10,
      ),
    ).toEqual(counts);
    const classesInOrder = Array.from(indices, (i) => labels[i]!);
    expect([...classesInOrder].sort((a, b) => a - b)).toEqual(classesInOrder);
  });

  it('is reproducible by seed and differs across seeds; shuffle: false keeps the first indices', () => {
    const a = longTailSubset(labels, { imbalanceFactor: 10, seed: 1 }).indices;
    const b = longTailSubset(labels, { imbalanceFactor: 10, seed: 1 }).indices;
    const c = longTailSubset(labels, { imbalanceFactor: 10, seed: 2 }).indices;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const ordered = longTailSubset(labels, { imbalanceFactor: 10, shuffle: false }).indices;
    expect(Array.from(ordered.slice(0, 3))).toEqual([0, 10, 20]);
  });

  it('supports the step profile and explicit maxCount', () => {
    const { counts } = longTailSubset(labels, { imbalanceFactor: 5, profile: 'step', maxCount: 50 });
    expect(counts).toEqual([50, 50, 50, 50, 50, 10, 10, 10, 10, 10]);
  });

  it('throws on an empty class, a class too small for its quota, IF < 1 and empty labels', () => {
    const gap = [0, 0, 2, 2]; // class 1 empty
    expect(() => longTailSubset(gap, { imbalanceFactor: 2 })).toThrow(/class/);
    expect(() => longTailSubset(labels, { imbalanceFactor: 10, maxCount: 101 })).toThrow(/labels \(class 0\)/);
    expect(() => longTailSubset(labels, { imbalanceFactor: 0.9 })).toThrow(/imbalanceFactor/);
    expect(() => longTailSubset([], { imbalanceFactor: 2 })).toThrow(DistilleryError);
    expect(() => longTailSubset([0, 1.5], { imbalanceFactor: 2 })).toThrow(/labels\[1\]/);
  });
});
