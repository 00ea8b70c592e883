import { longTailCounts, splitByCutpoints } from '@distillery/samplers';
import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { InMemoryDataset } from './in-memory-dataset';
import { headMidTail, longTail } from './long-tail';
import { stratifiedSplit, stratifiedSubset } from './stratified-split';

/** A Fashion-MNIST-shaped label set (6,000 per class, classes interleaved) with 1×1×2 images that encode the index. */
function balanced(perClass = 6000, C = 10): InMemoryDataset {
  const n = perClass * C;
  const pixels = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    pixels[2 * i] = i;
    pixels[2 * i + 1] = i % C;
  }
  return new InMemoryDataset({
    pixels,
    labels: Array.from({ length: n }, (_, i) => i % C),
    imageShape: [1, 1, 2],
    classNames: Array.from({ length: C }, (_, c) => `class ${c}`),
  });
}

describe('longTail', () => {
  const source = balanced();

  // kaidic/LDAM-DRW imbalance_cifar.py get_img_num_per_cls('exp') run in Python with img_max = 6000, cls_num = 10:
  // int(6000 * (1/IF) ** (i / 9.0)).
  const LDAM = {
    10: [6000, 4645, 3596, 2784, 2156, 1669, 1292, 1000, 774, 600],
    100: [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60],
  } as const;

  for (const IF of [10, 100] as const) {
    it(`IF ${IF}: the counts of the CIFAR-LT exponential profile, class 0 the largest, n_max = the smallest class`, () => {
      const { dataset, counts, indices } = longTail(source, { imbalanceFactor: IF, seed: 0 });
      expect(counts).toEqual([...LDAM[IF]]);
      expect(counts).toEqual(longTailCounts({ numClasses: 10, maxCount: 6000, imbalanceFactor: IF }));
      expect(dataset.classCounts()).toEqual(counts);
      expect(dataset.length).toBe(indices.length);
      expect(dataset.classNames).toEqual(source.classNames);
      // Each kept image is the source image at its index, with its own label, and no index is kept twice.
      expect(new Set(indices).size).toBe(indices.length);
      for (const k of [0, 1, 6000, indices.length - 1]) {
        expect(Array.from(dataset.rawImage(k))).toEqual([indices[k], indices[k]! % 10]);
        expect(dataset.label(k)).toBe(source.label(indices[k]!));
      }
    });
  }

  it('is seeded: the same seed keeps the same images, another seed other ones (the same counts)', () => {
    const a = longTail(source, { imbalanceFactor: 100, seed: 1 });
    const b = longTail(source, { imbalanceFactor: 100, seed: 1 });
    const c = longTail(source, { imbalanceFactor: 100, seed: 2 });
    expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
    expect(c.counts).toEqual(a.counts);
    expect(Array.from(c.indices)).not.toEqual(Array.from(a.indices));
    // Not the first n_c of each class in dataset order: the choice is shuffled.
    const class9 = Array.from(a.indices.subarray(a.indices.length - 60));
    expect(class9).not.toEqual(Array.from({ length: 60 }, (_, k) => 9 + 10 * k));
    expect(class9.every((i) => i % 10 === 9)).toBe(true);
  });

  it('maxCount and the step profile pass through; a class too small for its quota is an error', () => {
    expect(longTail(source, { imbalanceFactor: 10, maxCount: 1000 }).counts[9]).toBe(100);
    expect(longTail(source, { imbalanceFactor: 10, profile: 'step' }).counts).toEqual([
      6000, 6000, 6000, 6000, 6000, 600, 600, 600, 600, 600,
    ]);
    expect(() => longTail(source, { imbalanceFactor: 10, maxCount: 6001 })).toThrow(DistilleryError);
  });

  it('rejects bad options, each naming the option', () => {
    const bad: [unknown, string][] = [
      [{ imbalanceFactor: 0.5 }, 'options.imbalanceFactor'],
      [{ imbalanceFactor: Number.NaN }, 'options.imbalanceFactor'],
      [{}, 'options.imbalanceFactor'],
      [{ imbalanceFactor: 10, seed: 1.5 }, 'options.seed'],
      [{ imbalanceFactor: 10, maxCount: 0 }, 'options.maxCount'],
      [{ imbalanceFactor: 10, profile: 'linear' }, 'options.profile'],
      [{ imbalanceFactor: 10, imbalanceRatio: 10 }, 'options.imbalanceRatio'],
      [undefined, 'options'],
    ];
    for (const [options, argument] of bad) {
      let error: unknown;
      try {
        longTail(source, options as never);
      } catch (e) {
        error = e;
      }
      expect(error, argument).toBeInstanceOf(DistilleryError);
      expect((error as DistilleryError).argument).toBe(argument);
    }
  });
});

describe('headMidTail', () => {
  it('10 classes: 3 / 4 / 3 by training count, the CIFAR-10-LT cut points (3, 7) when class 0 is the largest', () => {
    const counts = longTailCounts({ numClasses: 10, maxCount: 6000, imbalanceFactor: 100 });
    expect(headMidTail(counts)).toEqual({ head: [0, 1, 2], mid: [3, 4, 5, 6], tail: [7, 8, 9] });
    expect(headMidTail(counts)).toEqual(splitByCutpoints(10, [3, 7]));
  });

  it('orders by count, not by class index (ties by index), and generalises as 30 / 40 / 30 per cent', () => {
    expect(headMidTail([5, 100, 1, 50, 7, 60, 3, 80, 9, 2])).toEqual({
      head: [1, 5, 7],
      mid: [0, 3, 4, 8],
      tail: [2, 6, 9],
    });
    expect(headMidTail([4, 4, 4, 4, 4, 4, 4, 4, 4, 4])).toEqual({
      head: [0, 1, 2],
      mid: [3, 4, 5, 6],
      tail: [7, 8, 9],
    });
    const hundred = headMidTail(longTailCounts({ numClasses: 100, maxCount: 500, imbalanceFactor: 100 }));
    expect([hundred.head.length, hundred.mid.length, hundred.tail.length]).toEqual([30, 40, 30]);
    const deit = headMidTail(
      new Array(100).fill(0).map((_, c) => 100 - c),
      { fractions: [0.36, 0.35] },
    );
    expect(deit).toEqual(splitByCutpoints(100, [36, 71]));
    expect(headMidTail([3, 1, 2])).toEqual({ head: [], mid: [0], tail: [1, 2] });
  });

  it('rejects bad counts and fractions', () => {
    for (const [call, argument] of [
      [() => headMidTail([]), 'counts'],
      [() => headMidTail([1, -1]), 'counts[1]'],
      [() => headMidTail([1, 0.5]), 'counts[1]'],
      [() => headMidTail([1, 2], { fractions: [0.8, 0.4] }), 'options.fractions'],
      [() => headMidTail([1, 2], { frac: [0.3, 0.4] } as never), 'options.frac'],
    ] as const) {
      expect(call).toThrow(DistilleryError);
      try {
        call();
      } catch (e) {
        expect((e as DistilleryError).argument).toBe(argument);
      }
    }
  });
});

describe('stratifiedSubset', () => {
  const source = balanced(50, 4);
  it('perClass images of each class, the same as stratifiedSplit draws for its test share', () => {
    const { dataset, indices } = stratifiedSubset(source, { perClass: 5, seed: 3 });
    expect(dataset.classCounts()).toEqual([5, 5, 5, 5]);
    expect(Array.from(indices)).toEqual(Array.from(stratifiedSplit(source, { testPerClass: 5, seed: 3 }).testIndices));
    expect(Array.from(stratifiedSubset(source, { perClass: 5, seed: 4 }).indices)).not.toEqual(Array.from(indices));
    expect(Array.from(dataset.rawImage(7))).toEqual([indices[7], indices[7]! % 4]);
  });

  it('a class smaller than perClass is an error, never a smaller subset', () => {
    const lt = longTail(source, { imbalanceFactor: 10 }).dataset; // 50 … 5 per class
    expect(() => stratifiedSubset(lt, { perClass: 6 })).toThrow(/options.perClass: expected at most 5/);
    expect(stratifiedSubset(lt, { perClass: 5 }).dataset.classCounts()).toEqual([5, 5, 5, 5]);
  });
});
