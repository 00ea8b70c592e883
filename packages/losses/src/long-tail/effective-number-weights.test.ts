import { readFileSync } from 'node:fs';
import path from 'node:path';
import { effectiveNumberWeights } from '@distillery/losses';
import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

const fixture = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../test/fixtures/effective-number-weights.json'), 'utf8'),
) as { cases: { counts: number[]; beta: number; weights: number[] }[] };

describe('effectiveNumberWeights', () => {
  it('matches the LDAM-DRW / DeiT-LT formula (NumPy float64) and sums to C', () => {
    for (const { counts, beta, weights } of fixture.cases) {
      const w = effectiveNumberWeights(counts, beta);
      weights.forEach((e, i) => {
        expect(Math.abs((w[i] as number) - e)).toBeLessThanOrEqual(1e-9 * Math.abs(e) + 1e-12);
      });
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(counts.length, 9);
    }
  });

  it('gives uniform weights at β = 0 and inverse-frequency-like weights as β → 1', () => {
    expect(effectiveNumberWeights([100, 10, 1], 0)).toEqual([1, 1, 1]);
    const w = effectiveNumberWeights([100, 10, 1], 0.999999);
    expect((w[2] as number) / (w[0] as number)).toBeCloseTo(100, 1);
  });

  it('rejects a zero count, β outside [0, 1) and an empty list, naming the argument', () => {
    const cases: [() => unknown, string][] = [
      [() => effectiveNumberWeights([10, 0, 3]), 'classCounts'],
      [() => effectiveNumberWeights([10, 3], 1), 'beta'],
      [() => effectiveNumberWeights([10, 3], -0.1), 'beta'],
      [() => effectiveNumberWeights([]), 'classCounts'],
      [() => effectiveNumberWeights([1, Number.NaN]), 'classCounts'],
    ];
    for (const [fn, argument] of cases) {
      expect(fn).toThrowError(DistilleryError);
      try {
        fn();
      } catch (e) {
        expect((e as DistilleryError).argument).toBe(argument);
      }
    }
  });
});
