import { createRng } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { loadDigits, stratifiedSplit } from '../index';

describe('stratifiedSplit', () => {
  it('holds out exactly testPerClass images of each class, disjoint from training, reproducibly', () => {
    const digits = loadDigits();
    const a = stratifiedSplit(digits, { testPerClass: 50, seed: 3 });
    const b = stratifiedSplit(digits, { testPerClass: 50, seed: 3 });
    expect(Array.from(a.testIndices)).toEqual(Array.from(b.testIndices));
    expect(a.test.classCounts()).toEqual(new Array(10).fill(50));
    expect(a.test.length + a.train.length).toBe(digits.length);
    const seen = new Set(a.testIndices);
    expect(Array.from(a.trainIndices).some((i) => seen.has(i))).toBe(false);
    expect(Array.from(stratifiedSplit(digits, { testPerClass: 50, seed: 4 }).testIndices)).not.toEqual(
      Array.from(a.testIndices),
    );
  });

  it('draws from a given generator, and rejects a class too small for its test share', () => {
    const digits = loadDigits();
    const rng = createRng(3);
    const split = stratifiedSplit(digits, { testPerClass: 50, rng });
    expect(Array.from(split.testIndices)).toEqual(
      Array.from(stratifiedSplit(digits, { testPerClass: 50, seed: 3 }).testIndices),
    );
    expect(() => stratifiedSplit(digits, { testPerClass: 1000 })).toThrowError(
      /options.testPerClass: expected at most/,
    );
  });
});
