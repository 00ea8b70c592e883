import {
  createRng,
  DistilleryError,
  Rng,
  randomNormal,
  randomTruncatedNormal,
  randomUniform,
  tf,
} from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

describe('Rng', () => {
  it('reproduces the same stream for the same seed and differs across seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const sa = Array.from({ length: 16 }, () => a.nextUint32());
    expect(Array.from({ length: 16 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 16 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('restores from state mid-stream, including a pending Box–Muller normal', () => {
    const a = new Rng('checkpoint');
    a.normal();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const next = [a.normal(), a.uniform(), a.int(10)];
    const b = Rng.fromState(saved);
    expect([b.normal(), b.uniform(), b.int(10)]).toEqual(next);
  });

  it('rewinds in place with setState (every holder of the generator repeats the same draws)', () => {
    const a = new Rng(11);
    a.normal();
    const saved = a.state();
    const first = [a.normal(), a.uniform(), a.int(7)];
    a.setState(saved);
    expect([a.normal(), a.uniform(), a.int(7)]).toEqual(first);
    expect(() => a.setState({ algorithm: 'xoshiro128**', s: [1, 2, 3] } as never)).toThrowError(/state/);
    expect(() => a.setState({ ...saved, s: [1, 2, 3, Number.NaN] })).toThrowError(DistilleryError);
  });

  it('has the moments of its distributions', () => {
    const rng = createRng(1);
    const n = 20000;
    const u = Array.from({ length: n }, () => rng.uniform());
    const z = Array.from({ length: n }, () => rng.normal());
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    const variance = (xs: number[]) => mean(xs.map((v) => (v - mean(xs)) ** 2));
    expect(mean(u)).toBeCloseTo(0.5, 1.5);
    expect(variance(u)).toBeCloseTo(1 / 12, 2);
    expect(mean(z)).toBeCloseTo(0, 1.5);
    expect(variance(z)).toBeCloseTo(1, 1);
    const beta = Array.from({ length: 5000 }, () => rng.beta(2, 5));
    expect(mean(beta)).toBeCloseTo(2 / 7, 1.5);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < n; i++) counts[rng.int(5)]++;
    for (const c of counts) expect(Math.abs(c - n / 5)).toBeLessThan(400);
  });

  it('permutes and shuffles without losing elements', () => {
    const p = Array.from(createRng(3).permutation(50)).sort((x, y) => x - y);
    expect(p).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const items = ['a', 'b', 'c', 'd'];
    expect(
      createRng(3)
        .shuffle([...items])
        .sort(),
    ).toEqual(items);
  });

  it('rejects bad arguments by name', () => {
    expect(() => createRng(1.5)).toThrowError(/seed: expected an integer/);
    expect(() => createRng(1).int(0)).toThrowError(DistilleryError);
    expect(() => Rng.fromState({} as never)).toThrowError(/state/);
  });
});

describe('random tensors', () => {
  it('are identical for the same seed and use the requested ranges', () => {
    const a = randomUniform([100], new Rng(5), { min: -2, max: 3 });
    const b = randomUniform([100], new Rng(5), { min: -2, max: 3 });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(a.min().dataSync()[0]).toBeGreaterThanOrEqual(-2);
    expect(a.max().dataSync()[0]).toBeLessThan(3);
    const t = randomTruncatedNormal([2000], new Rng(6), { std: 1, a: -0.5, b: 0.5 });
    expect(t.abs().max().dataSync()[0]).toBeLessThanOrEqual(0.5);
    const nrm = randomNormal([4000], new Rng(7), { mean: 3, std: 0.02 });
    expect(nrm.mean().dataSync()[0]).toBeCloseTo(3, 2);
    tf.dispose([a, b, t, nrm]);
  });
});
