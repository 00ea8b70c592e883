import { Rng, tf } from '@distillery/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { p2ot, sinkhorn } from '../src/index';
import { createJsArena, createSweepArena, setSweepEngine, sweepModuleBytes } from '../src/internal/wasm-sweep';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('WebAssembly SIMD Sinkhorn sweeps', () => {
  afterEach(() => setSweepEngine('wasm'));

  it('validates, and rows / cols / sweep equal the JavaScript loops on every row-length remainder', () => {
    expect(WebAssembly.validate(sweepModuleBytes())).toBe(true);
    const rng = new Rng(4);
    for (const [n, k] of [
      [1, 1],
      [3, 7],
      [5, 8],
      [9, 9],
      [17, 101],
      [4, 1001],
    ] as const) {
      const w = createSweepArena(n, k);
      expect(w).not.toBeNull();
      const js = createJsArena(n, k);
      const kt = Float64Array.from({ length: n * k }, () => Math.exp(rng.normal()));
      const e = Float64Array.from({ length: k }, () => rng.uniform());
      const t = Float64Array.from({ length: n }, () => rng.uniform());
      const a = Float64Array.from({ length: n }, () => rng.uniform());
      for (const arena of [w!, js]) {
        for (let i = 0; i < n; i++) arena.kt.set(kt.subarray(i * k, (i + 1) * k), i * arena.stride);
        arena.e.set(e);
        arena.t.set(t);
      }
      let worst = 0;
      for (const op of ['rows', 'cols', 'sweep'] as const) {
        for (const arena of [w!, js]) {
          arena.a.set(a);
          arena[op]();
        }
        for (let i = 0; i < n; i++) worst = Math.max(worst, rel(w!.s[i]!, js.s[i]!), rel(w!.a[i]!, js.a[i]!));
        for (let j = 0; j < k; j++) worst = Math.max(worst, rel(w!.col[j]!, js.col[j]!));
      }
      expect(worst).toBeLessThan(1e-13);
      expect(w!.stride % 8).toBe(0);
    }
  });

  it('exp is within 2 ulps of Math.exp on [−708, 709], 0 below and ∞ above, with the zero padding kept', () => {
    const n = 2;
    const k = 30001; // odd: exercises the single-lane tail
    const w = createSweepArena(n, k)!;
    const xs = Float64Array.from({ length: n * k }, (_, i) => -720 + (1440 * i) / (n * k));
    w.L.set(xs);
    w.f.set([0.25, -0.5]);
    w.g.fill(1e-3);
    w.exp();
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const x = xs[i * k + j]! + w.f[i]! + 1e-3;
        const got = w.kt[i * w.stride + j]!;
        if (x < -708) expect(got).toBe(0);
        else if (x > 709) expect(got).toBe(Number.POSITIVE_INFINITY);
        else worst = Math.max(worst, rel(got, Math.exp(x)));
      }
      for (let j = k; j < w.stride; j++) expect(w.kt[i * w.stride + j]).toBe(0);
    }
    expect(worst).toBeLessThan(4.5e-16); // 2 ulps (2^-51)
    expect(worst).toBeGreaterThan(0); // it is a polynomial, not Math.exp
  });

  it('P²OT and Sinkhorn solve identically (1e-12, same iterations) with the SIMD module and without it', () => {
    const rng = new Rng(9);
    const logits = tf.tensor2d(
      Float32Array.from({ length: 300 * 13 }, () => 3 * rng.normal()),
      [300, 13],
    );
    const cost = tf.tensor2d(
      Float32Array.from({ length: 40 * 33 }, () => rng.uniform()),
      [40, 33],
    );
    const solve = () => {
      const p = p2ot(logits, { rho: 0.3 });
      const s = sinkhorn(undefined, undefined, cost, { reg: 0.01 });
      const out = {
        q: p.pseudoLabels.dataSync().slice(),
        plan: s.plan.dataSync().slice(),
        iterations: [p.iterations, s.iterations],
        mass: p.transportedMass,
      };
      p.pseudoLabels.dispose();
      s.plan.dispose();
      return out;
    };
    setSweepEngine('wasm');
    const simd = solve();
    setSweepEngine('js');
    const js = solve();
    expect(simd.iterations).toEqual(js.iterations);
    expect(simd.iterations[0]).toBeGreaterThan(5);
    expect(rel(simd.mass, js.mass)).toBeLessThan(1e-12);
    let worst = 0;
    for (let i = 0; i < js.q.length; i++) worst = Math.max(worst, Math.abs(simd.q[i]! - js.q[i]!));
    for (let i = 0; i < js.plan.length; i++) worst = Math.max(worst, Math.abs(simd.plan[i]! - js.plan[i]!));
    expect(worst).toBeLessThan(1e-7); // float32 outputs: a few float32 ulps at most
    logits.dispose();
    cost.dispose();
  });
});
