import { DistilleryError } from '@distillery/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchCount, batchIndices } from './batches';
import { classAwareCycleSampler } from './class-aware-cycle';
import { classSamplingProbabilities, progressiveProbabilities } from './class-probabilities';
import { repeatedAugmentationSampler } from './repeated-augmentation';
import {
  classBalancedSampler,
  instanceBalancedSampler,
  progressivelyBalancedSampler,
  squareRootSampler,
  weightedSampler,
} from './samplers';

/** Labels with the given per-class counts, in class order. */
const labelsFrom = (counts: number[]) => counts.flatMap((n, c) => new Array<number>(n).fill(c));
const countsArb = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 });

describe('class sampling probabilities', () => {
  it('p_j = n_j^q / Σ n^q and PB interpolates IB → CB', () => {
    expect(classSamplingProbabilities([9, 1], 0.5)).toEqual([0.75, 0.25]);
    expect(classSamplingProbabilities([9, 1], 0)).toEqual([0.5, 0.5]);
    expect(classSamplingProbabilities([9, 1], 1)).toEqual([0.9, 0.1]);
    const pb = progressiveProbabilities([9, 1], 5, 10);
    expect(pb[0]).toBeCloseTo(0.7, 12);
    expect(progressiveProbabilities([9, 1], 10, 10)).toEqual([0.5, 0.5]);
  });
});

describe('samplers (properties)', () => {
  it('same seed → same order; different epochs → different orders', () => {
    fc.assert(
      fc.property(countsArb, fc.integer({ min: 0, max: 1000 }), (counts, seed) => {
        const labels = labelsFrom(counts);
        for (const make of [
          () => classBalancedSampler(labels, { seed }),
          () => squareRootSampler(labels, { seed }),
          () => instanceBalancedSampler(labels.length, { seed }),
          () => progressivelyBalancedSampler(labels, { seed, totalEpochs: 4 }),
        ]) {
          expect(Array.from(make().indices(2))).toEqual(Array.from(make().indices(2)));
        }
      }),
      { numRuns: 30 },
    );
    const s = instanceBalancedSampler(50, { seed: 1 });
    expect(Array.from(s.indices(0))).not.toEqual(Array.from(s.indices(1)));
  });

  it('every index comes from the dataset (and IB is a permutation)', () => {
    fc.assert(
      fc.property(countsArb, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 5 }), (counts, seed, e) => {
        const labels = labelsFrom(counts);
        const n = labels.length;
        const ib = Array.from(instanceBalancedSampler(n, { seed }).indices(e));
        expect([...ib].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        for (const s of [classBalancedSampler(labels, { seed }), squareRootSampler(labels, { seed, numSamples: 17 })]) {
          const idx = s.indices(e);
          expect(idx.length).toBe(s.length);
          for (const i of idx) expect(i >= 0 && i < n && Number.isInteger(i)).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('class-balanced epochs are balanced in expectation (each class ≈ 1/C of draws)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 0, max: 1e6 }),
        (counts, seed) => {
          const labels = labelsFrom(counts);
          const draws = 6000;
          const s = classBalancedSampler(labels, { seed, numSamples: draws });
          const per = new Array<number>(counts.length).fill(0);
          for (const i of s.indices(0)) per[labels[i]!]!++;
          const C = counts.length;
          const p = 1 / C;
          const sd = Math.sqrt((draws * p * (1 - p)) as number);
          for (const k of per) expect(Math.abs(k - draws * p)).toBeLessThan(5 * sd);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('square-root and progressively-balanced samplers follow p_j in expectation', () => {
    const counts = [400, 100, 25];
    const labels = labelsFrom(counts);
    const draws = 20000;
    const freq = (idx: Int32Array) => {
      const per = [0, 0, 0];
      for (const i of idx) per[labels[i]!]!++;
      return per.map((k) => k / draws);
    };
    const sr = freq(squareRootSampler(labels, { seed: 4, numSamples: draws }).indices(0));
    classSamplingProbabilities(counts, 0.5).forEach((p, j) => {
      expect(Math.abs(sr[j]! - p)).toBeLessThan(0.015);
    });
    const pbs = progressivelyBalancedSampler(labels, { seed: 4, numSamples: draws, totalEpochs: 10 });
    const pb3 = freq(pbs.indices(3));
    progressiveProbabilities(counts, 3, 10).forEach((p, j) => {
      expect(Math.abs(pb3[j]! - p)).toBeLessThan(0.015);
    });
  });
});

describe('weightedSampler', () => {
  it('with replacement draws ∝ w and never draws a zero weight', () => {
    const s = weightedSampler([1, 0, 3], { numSamples: 20000, seed: 2 });
    const per = [0, 0, 0];
    for (const i of s.indices(0)) per[i]!++;
    expect(per[1]).toBe(0);
    expect(Math.abs(per[2]! / 20000 - 0.75)).toBeLessThan(0.015);
  });

  it('without replacement gives distinct positive-weight indices; heavy items come first more often', () => {
    const s = weightedSampler([1, 1, 1, 100, 0], { numSamples: 4, replacement: false, seed: 5 });
    let heavyFirst = 0;
    for (let e = 0; e < 200; e++) {
      const idx = Array.from(s.indices(e));
      expect(new Set(idx).size).toBe(4);
      expect(idx).not.toContain(4);
      if (idx[0] === 3) heavyFirst++;
    }
    expect(heavyFirst).toBeGreaterThan(180); // P = 100/103
    expect(() => weightedSampler([1, 0], { numSamples: 2, replacement: false })).toThrow(/options.numSamples/);
    expect(() => weightedSampler([0, 0])).toThrow(/weights/);
    expect(() => weightedSampler([1, -1])).toThrow(/weights\[1\]/);
  });
});

describe('batches', () => {
  it('splits with and without drop-last', () => {
    const idx = Int32Array.from([5, 4, 3, 2, 1]);
    expect(batchIndices(idx, 2).map((b) => Array.from(b))).toEqual([[5, 4], [3, 2], [1]]);
    expect(batchIndices(idx, 2, { dropLast: true }).map((b) => Array.from(b))).toEqual([
      [5, 4],
      [3, 2],
    ]);
    expect(batchIndices(idx, 8).length).toBe(1);
    expect(batchCount(5, 2)).toBe(3);
    expect(batchCount(5, 2, true)).toBe(2);
  });

  it('throws for batch size > dataset with drop-last, zero batch size and empty epochs', () => {
    expect(() => batchIndices([1, 2], 3, { dropLast: true })).toThrow(/batchSize/);
    expect(() => batchIndices([1, 2], 0)).toThrow(/batchSize/);
    expect(() => batchIndices([], 2)).toThrow(DistilleryError);
  });

  it('throws naming an empty class for class-aware samplers', () => {
    expect(() => classBalancedSampler([0, 0, 2])).toThrow(/class 1/);
    expect(() => classBalancedSampler([0, 1], { numClasses: 3 })).toThrow(/class 2/);
    expect(() => progressivelyBalancedSampler([0, 1], { totalEpochs: 0 })).toThrow(/totalEpochs/);
  });
});

describe('repeatedAugmentationSampler (DeiT RASampler)', () => {
  it('repeats each shuffled index 3 times consecutively and keeps ⌊n/256⌋·256 indices', () => {
    const s = repeatedAugmentationSampler(600, { seed: 1 });
    expect(s.length).toBe(512);
    const idx = Array.from(s.indices(0));
    expect(idx.length).toBe(512);
    for (let k = 0; k + 2 < 510; k += 3) {
      expect(idx[k + 1]).toBe(idx[k]);
      expect(idx[k + 2]).toBe(idx[k]);
    }
    expect(new Set(idx).size).toBe(171); // ⌈512/3⌉ distinct
    expect(Array.from(s.indices(0))).toEqual(idx);
  });

  it('splits the repeated list across replicas by stride', () => {
    const opts = { seed: 2, numReplicas: 2, truncateTo256: false };
    const r0 = Array.from(repeatedAugmentationSampler(10, { ...opts, rank: 0 }).indices(3));
    const r1 = Array.from(repeatedAugmentationSampler(10, { ...opts, rank: 1 }).indices(3));
    expect(r0.length).toBe(15);
    const merged: number[] = [];
    for (let k = 0; k < 15; k++) merged.push(r0[k]!, r1[k]!);
    const counts = new Map<number, number>();
    for (const i of merged) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([...counts.values()].every((c) => c === 3)).toBe(true);
    expect(() => repeatedAugmentationSampler(100)).toThrow(/size/);
    expect(() => repeatedAugmentationSampler(600, { rank: 1 })).toThrow(/options.rank/);
  });
});

describe('classAwareCycleSampler (official decoupling ClassAwareSampler)', () => {
  it('visits every class exactly numSamplesCls times per C class draws and cycles within classes', () => {
    fc.assert(
      fc.property(countsArb, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 3 }), (counts, seed, k) => {
        const labels = labelsFrom(counts);
        const C = counts.length;
        const s = classAwareCycleSampler(labels, { seed, numSamplesCls: k });
        expect(s.length).toBe(Math.max(...counts) * C);
        const idx = Array.from(s.indices(1));
        const cycles = Math.floor(idx.length / (C * k));
        for (let r = 0; r < cycles; r++) {
          const block = idx.slice(r * C * k, (r + 1) * C * k).map((i) => labels[i]!);
          const per = new Array<number>(C).fill(0);
          for (const y of block) per[y]!++;
          expect(per.every((v) => v === k)).toBe(true);
        }
        // within a class, the first n_c draws are a permutation of that class's indices
        for (let c = 0; c < C; c++) {
          const drawn = idx.filter((i) => labels[i] === c).slice(0, counts[c]!);
          if (drawn.length === counts[c]) expect(new Set(drawn).size).toBe(counts[c]);
        }
        expect(Array.from(s.indices(1))).toEqual(idx);
      }),
      { numRuns: 30 },
    );
    expect(() => classAwareCycleSampler([0, 2])).toThrow(/class 1/);
  });
});
