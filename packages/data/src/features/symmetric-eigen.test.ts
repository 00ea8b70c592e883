import { Rng } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { symmetricEigen } from './symmetric-eigen';

/** A random symmetric d×d matrix with entries in [−1, 1). */
function randomSymmetric(d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = i; j < d; j++) a[i * d + j] = a[j * d + i] = 2 * rng.uniform() - 1;
  return a;
}

describe('symmetricEigen', () => {
  for (const d of [1, 2, 3, 17, 64]) {
    it(`d = ${d}: A·v = λ·v for every pair, orthonormal vectors, decreasing values, Σλ = trace`, () => {
      const a = randomSymmetric(d, d);
      const { values, vectors } = symmetricEigen(a, d);
      let trace = 0;
      for (let i = 0; i < d; i++) trace += a[i * d + i]!;
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 10);
      for (let i = 0; i < d; i++) {
        if (i > 0) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
        for (let r = 0; r < d; r++) {
          let av = 0;
          for (let c = 0; c < d; c++) av += a[r * d + c]! * vectors[i * d + c]!;
          expect(Math.abs(av - values[i]! * vectors[i * d + r]!)).toBeLessThan(1e-10);
        }
        for (let j = i; j < d; j++) {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += vectors[i * d + c]! * vectors[j * d + c]!;
          expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
    });
  }

  it('a diagonal matrix, a repeated eigenvalue and a rank-one matrix (zero eigenvalues)', () => {
    const diag = symmetricEigen(Float64Array.from([2, 0, 0, 0, -1, 0, 0, 0, 5]), 3);
    expect(Array.from(diag.values)).toEqual([5, 2, -1]);
    const identity = symmetricEigen(Float64Array.from([1, 0, 0, 1]), 2);
    expect(Array.from(identity.values)).toEqual([1, 1]);
    // u uᵀ with u = (1, 2, 2): eigenvalues 9, 0, 0, the first vector ±u/3.
    const u = [1, 2, 2];
    const rankOne = symmetricEigen(
      Float64Array.from({ length: 9 }, (_, k) => u[Math.floor(k / 3)]! * u[k % 3]!),
      3,
    );
    expect(rankOne.values[0]).toBeCloseTo(9, 12);
    expect(Math.abs(rankOne.values[1]!)).toBeLessThan(1e-12);
    const sign = Math.sign(rankOne.vectors[0]!);
    for (let c = 0; c < 3; c++) expect(sign * rankOne.vectors[c]!).toBeCloseTo(u[c]! / 3, 12);
  });

  it('leaves its input unchanged', () => {
    const a = randomSymmetric(8, 3);
    const copy = a.slice();
    symmetricEigen(a, 8);
    expect(Array.from(a)).toEqual(Array.from(copy));
  });
});
