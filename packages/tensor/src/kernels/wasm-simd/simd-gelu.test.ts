import { describe, expect, it } from 'vitest';
import { simdGelu, simdGeluCalls } from './simd-gelu';

/** erfc(a), a ≥ 0, in float64: the series for small a, the continued fraction (Lentz) beyond. */
function erfc(a: number): number {
  if (a < 2) {
    let term = a;
    let sum = a;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (2 * a * a) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
  }
  // erfc(a) = e^(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …))))
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
}
const cdf = (x: number) => (x >= 0 ? 1 - 0.5 * erfc(x / Math.SQRT2) : 0.5 * erfc(-x / Math.SQRT2));
const gelu = (x: number) => x * cdf(x);
const geluGrad = (x: number) => cdf(x) + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI);

/** max over i of |got − want| / (atol + rtol·|want|): ≤ 1 passes. */
const worst = (got: Float32Array, want: number[], rtol: number, atol: number) =>
  want.reduce((m, w, i) => Math.max(m, Math.abs((got[i] as number) - w) / (atol + rtol * Math.abs(w))), 0);

describe('GELU on WebAssembly SIMD', () => {
  const simd = simdGelu();
  it('is available where WebAssembly SIMD is (Node 20)', () => {
    expect(simd).not.toBeNull();
  });

  // Lengths that are not whole vectors, one float, and one past the first memory page.
  for (const n of [4001, 1, 7, 20_000]) {
    it(`n = ${n} over [−12, 12]: values within 1e-5 relative (+1e-7), gradients within 1e-4 (+1e-6) of float64`, () => {
      const x = Float32Array.from({ length: n }, (_, i) => (n === 1 ? 0.7 : -12 + (24 * i) / (n - 1)));
      const y = new Float32Array(n);
      const dy = Float32Array.from({ length: n }, (_, i) => 1 + (i % 5) / 4);
      const dx = new Float32Array(n);
      simd?.forward(x, y);
      simd?.backward(dy, x, dx);
      expect(worst(y, Array.from(x, gelu), 1e-5, 1e-7)).toBeLessThan(1);
      expect(
        worst(
          dx,
          Array.from(x, (v, i) => (dy[i] as number) * geluGrad(v)),
          1e-4,
          1e-6,
        ),
      ).toBeLessThan(1);
    });
  }

  it('computes in place on another memory (tfjs-wasm’s heap) the same bits as through copies, tail included', () => {
    const n = 4001; // 4000 in place, the last float through the module's own memory
    const memory = new WebAssembly.Memory({ initial: 2 });
    // Views at odd offsets (not 16-aligned), in the order a heap might hold them.
    const at = (floats: number, length: number) => new Float32Array(memory.buffer, 4 * floats, length);
    const [x, dy, y, dx] = [at(1, n), at(1 + n, n), at(3 + 2 * n, n), at(5 + 3 * n, n)] as Float32Array[];
    for (let i = 0; i < n; i++) {
      (x as Float32Array)[i] = -12 + (24 * i) / (n - 1);
      (dy as Float32Array)[i] = 1 + (i % 5) / 4;
    }
    const guard = at(5 + 4 * n, 4).fill(7); // nothing past dx is written
    const before = { ...simdGeluCalls };
    simd?.forward(x as Float32Array, y as Float32Array, memory);
    simd?.backward(dy as Float32Array, x as Float32Array, dx as Float32Array, memory);
    expect(simdGeluCalls.inPlace - before.inPlace).toBe(2);
    const [yCopy, dxCopy] = [new Float32Array(n), new Float32Array(n)];
    simd?.forward(Float32Array.from(x as Float32Array), yCopy);
    simd?.backward(Float32Array.from(dy as Float32Array), Float32Array.from(x as Float32Array), dxCopy);
    expect(Array.from(y as Float32Array)).toEqual(Array.from(yCopy));
    expect(Array.from(dx as Float32Array)).toEqual(Array.from(dxCopy));
    expect(Array.from(guard)).toEqual([7, 7, 7, 7]);
  });

  it('gives the float32 limits far out: y = x and dx = dy above, exact zeros below', () => {
    const x = Float32Array.of(-1e30, -200, -20, 20, 200, 1e30, 0, -0);
    const y = new Float32Array(8);
    const dx = new Float32Array(8);
    simd?.forward(x, y);
    simd?.backward(new Float32Array(8).fill(2), x, dx);
    const plain = (a: ArrayLike<number>) => Array.from(a, (v) => v + 0); // −0 as 0
    expect(plain(y)).toEqual([0, 0, 0, 20, 200, Math.fround(1e30), 0, 0]);
    expect(Array.from(dx)).toEqual([0, 0, 0, 2, 2, 2, 1, 1]);
  });
});
