import { Rng, tf } from '@distillery/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { p2ot, sinkhorn } from '../src/index';
import { createJsArena, createSweepArena, setSweepEngine, sweepModuleBytes } from '../src/internal/wasm-sweep';

/** N×K with every row-length remainder mod 8 that the loops treat differently. */
const SHAPES = [
  [1, 1],
  [3, 7],
  [5, 8],
  [9, 9],
  [17, 101],
  [4, 1001],
] as const;

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('WebAssembly SIMD Sinkhorn sweeps', () => {
  afterEach(() => setSweepEngine('wasm'));

  it('validates, and rows / cols / sweep equal the JavaScript loops on every row-length remainder', () => {
    expect(WebAssembly.validate(sweepModuleBytes())).toBe(true);
    const rng = new Rng(4);
    for (const [n, k] of SHAPES) {
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

  it('planF32 (in place, float32) and allFinite equal the JavaScript loops on every row-length remainder', () => {
    const rng = new Rng(5);
    for (const [n, k] of SHAPES) {
      const w = createSweepArena(n, k)!;
      const js = createJsArena(n, k);
      const kt = Float64Array.from({ length: n * k }, () => Math.exp(rng.normal()));
      const e = Float64Array.from({ length: k }, () => rng.uniform());
      const a = Float64Array.from({ length: n }, () => rng.uniform());
      for (const arena of [w, js]) {
        for (let i = 0; i < n; i++) arena.kt.set(kt.subarray(i * k, (i + 1) * k), i * arena.stride);
        arena.e.set(e);
        arena.a.set(a);
      }
      for (const columns of [k, Math.max(1, k - 1)]) {
        const fresh = (arena: typeof js) => {
          for (let i = 0; i < n; i++) arena.kt.set(kt.subarray(i * k, (i + 1) * k), i * arena.stride);
          return arena.planF32(columns);
        };
        const got = fresh(w);
        const want = fresh(js);
        expect(got.length).toBe(n * columns);
        expect(Array.from(got)).toEqual(Array.from(want)); // both round the same float64 product once
      }
      for (const arena of [w, js]) {
        arena.L.set(Float64Array.from({ length: n * k }, () => rng.normal()));
        expect(arena.allFinite()).toBe(true);
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          for (const at of [0, Math.floor((n * k) / 2), n * k - 1]) {
            const keep = arena.L[at]!;
            arena.L[at] = bad;
            expect(arena.allFinite()).toBe(false);
            arena.L[at] = keep;
          }
        }
        expect(arena.allFinite()).toBe(true);
      }
    }
  });

  it('exp is within 2 ulps of Math.exp on [−708, 709], 0 below and ∞ above, with the zero padding kept, for every K mod 4', () => {
    const n = 2;
    let worst = 0;
    // K mod 4 = 0…3: the two-pair loop, the extra pair and the single-lane tail
    for (const k of [30000, 30001, 30002, 30003]) {
      const w = createSweepArena(n, k)!;
      const xs = Float64Array.from({ length: n * k }, (_, i) => -720 + (1440 * i) / (n * k));
      w.L.set(xs);
      w.f.set([0.25, -0.5]);
      w.g.fill(1e-3);
      w.exp();
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
    }
    // 2 ulps (2^-51). V8's Math.exp is also fdlibm's algorithm, so here the two mostly agree bit for bit.
    expect(worst).toBeLessThan(4.5e-16);
    // exp(scale): L is scaled in place first (every K mod 4 again)
    for (const k of [4, 5, 6, 7]) {
      const w = createSweepArena(3, k)!;
      const xs = Float64Array.from({ length: 3 * k }, (_, i) => Math.sin(i) * 5);
      w.L.set(xs);
      w.exp(-2);
      for (let i = 0; i < 3 * k; i++) expect(w.L[i]).toBe(-2 * xs[i]!);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < k; j++)
          expect(rel(w.kt[i * w.stride + j]!, Math.exp(-2 * xs[i * k + j]!))).toBeLessThan(4.5e-16);
      }
    }
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
