import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/long-tail.json';
import { deferredReweighting, effectiveNumberWeights, inverseFrequencyWeights } from './class-weights';
import { splitByCount, splitByCutpoints, splitByFraction } from './splits';

const close = (a: number[], b: number[], tol = 1e-9) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
  });
};

describe('class weights', () => {
  it('effective-number weights equal the numpy reference (β 0.9999, 0.999, 0) and sum to C', () => {
    for (const row of fixture.weights) {
      const w = effectiveNumberWeights(row.counts, { beta: row.beta });
      close(w, row.weights);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(row.counts.length, 9);
    }
  });

  it('inverse frequency is ∝ 1/n and sums to C', () => {
    const w = inverseFrequencyWeights([100, 50, 25]);
    close(w, [3 / 7, 6 / 7, 12 / 7]);
    close(inverseFrequencyWeights([4, 1], { power: 0.5, normalize: false }), [0.5, 1]);
  });

  it('DRW is uniform before drwEpoch and effective-number from it on', () => {
    const counts = [500, 100, 10];
    expect(deferredReweighting(counts, 159, { drwEpoch: 160 })).toEqual([1, 1, 1]);
    close(deferredReweighting(counts, 160, { drwEpoch: 160 }), effectiveNumberWeights(counts));
    close(
      deferredReweighting(counts, 400, { drwEpoch: 160, beta: 0.999 }),
      effectiveNumberWeights(counts, { beta: 0.999 }),
    );
  });

  it('throws naming the empty class and a bad β', () => {
    expect(() => effectiveNumberWeights([10, 0, 3])).toThrow(/counts\[1\]/);
    expect(() => inverseFrequencyWeights([10, 0])).toThrow(/counts\[1\]/);
    expect(() => effectiveNumberWeights([10], { beta: 1 })).toThrow(/options.beta/);
    expect(() => effectiveNumberWeights([])).toThrow(/counts/);
  });
});

describe('head / mid / tail splits', () => {
  it('count rule matches the reference (CIFAR-100-LT IF100 → 35/35/30, IF50 → 41/41/18)', () => {
    for (const row of fixture.splits) {
      const s = splitByCount(row.counts);
      expect([s.head.length, s.mid.length, s.tail.length]).toEqual([row.many, row.medium, row.few]);
    }
    const s = splitByCount(fixture.splits[3]!.counts);
    expect(s.head[34]).toBe(34);
    expect(s.mid[0]).toBe(35);
    expect(s.tail[0]).toBe(70);
  });

  it('cut points follow DeiT-LT and fractions follow PPOT', () => {
    const s = splitByCutpoints(100, [36, 71]);
    expect([s.head.length, s.mid.length, s.tail.length]).toEqual([36, 35, 29]);
    expect(s.mid[0]).toBe(36);
    const f = splitByFraction(10);
    expect(f).toEqual({ head: [0, 1, 2], mid: [3, 4, 5, 6], tail: [7, 8, 9] });
    expect(() => splitByCutpoints(10, [7, 3])).toThrow(/cutpoints\[1\]/);
  });
});
