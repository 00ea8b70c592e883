/**
 * Silent wrong results of issue 13: no solver may return a NaN plan, report convergence from non-finite values, or
 * call an infeasible plan converged; zero-mass rows and columns come out as exact zeros.
 */
import { type OtEngine, partialWasserstein, sinkhorn, sinkhornUnbalanced } from '@distillery/ot';
import { createRng, randomNormal, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

const engines: OtEngine[] = ['float64', 'backend'];

/** The plan's values, after checking every entry is finite and every zero-mass row / column is exactly 0. */
function checkPlan(plan: tf.Tensor2D, a: number[] | undefined, b: number[] | undefined): Float32Array {
  const [n, k] = plan.shape;
  const values = plan.dataSync() as Float32Array;
  plan.dispose();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const p = values[i * k + j]!;
      expect(Number.isFinite(p), `plan[${i}, ${j}] = ${p}`).toBe(true);
      if (a?.[i] === 0 || b?.[j] === 0) expect(p, `plan[${i}, ${j}] of a zero-mass row/column`).toBe(0);
    }
  }
  return values;
}

describe('sinkhorn: zero-mass columns at reg 1e-3', () => {
  it('sinkhorn(uniform(4), [0, 0, 1], costs in [0, 10], reg 1e-3) is finite, exact zeros, all mass in column 2', () => {
    const cost = tf.tensor2d([0, 5, 10, 2, 7, 1, 10, 0, 3, 4, 8, 9], [4, 3]);
    const b = [0, 0, 1];
    for (const engine of engines) {
      const r = sinkhorn(undefined, b, cost, { reg: 1e-3, engine });
      const plan = checkPlan(r.plan, undefined, b);
      for (let i = 0; i < 4; i++) expect(plan[i * 3 + 2]).toBeCloseTo(0.25, engine === 'float64' ? 6 : 3);
      expect(r.converged).toBe(true);
      expect(r.marginalError).toBeLessThan(1e-6);
    }
    cost.dispose();
  });
});

describe('sinkhornUnbalanced: zero entries', () => {
  it('finite plans with exact zeros over reg 1e-3 … 1, costs up to 1e3, reg_m 0.1 … ∞, on both engines', () => {
    const rng = createRng(1);
    const a = [0, 0.3, 0.2, 0, 0.5];
    const b = [0.5, 0, 0.5, 0];
    for (const reg of [1e-3, 1e-2, 0.1, 1]) {
      for (const scale of [1, 10, 1000]) {
        const cost = tf.tidy(() => tf.mul(tf.abs(randomNormal([5, 4], rng)), scale)) as tf.Tensor2D;
        for (const regMarginals of [0.1, 1, 10, Number.POSITIVE_INFINITY]) {
          for (const engine of engines) {
            const r = sinkhornUnbalanced(a, b, cost, { reg, regMarginals, engine });
            checkPlan(r.plan, a, b);
            expect(Number.isFinite(r.marginalError)).toBe(true);
          }
        }
        cost.dispose();
      }
    }
  });
});

describe('partialWasserstein', () => {
  it('zero-mass rows and columns: a finite plan with exact zeros that meets the constraints', () => {
    const cost = tf.tensor2d([0, 5, 10, 2, 7, 1, 10, 0, 3, 4, 8, 9], [4, 3]);
    const a = [0, 0.5, 0.5, 0];
    const b = [0, 0.5, 0.5];
    for (const engine of engines) {
      const r = partialWasserstein(a, b, cost, { reg: 0.1, engine });
      const plan = checkPlan(r.plan, a, b);
      expect(plan.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
      expect(r.marginalError).toBeLessThan(1e-5);
    }
    cost.dispose();
  });

  it('reg 1e-3 with costs 1e3: no "converged" after one iteration with an infeasible plan', () => {
    const cost = tf.tensor2d([0, 500, 1000, 200, 700, 100, 1000, 0, 300, 400, 800, 900], [4, 3]);
    for (const engine of engines) {
      const r = partialWasserstein(undefined, undefined, cost, { reg: 1e-3, engine, maxIter: 200 });
      checkPlan(r.plan, undefined, undefined);
      // Dykstra barely moves at cost/reg = 1e6: an honest solver says so
      expect(r.iterations).toBeGreaterThan(1);
      if (r.converged) expect(r.marginalError).toBeLessThan(1e-6);
      else expect(r.iterations).toBe(200);
    }
    cost.dispose();
  });

  it('a plan that stops changing only counts as converged once it is feasible (tol 1e-9 still stops early)', () => {
    const rng = createRng(5);
    const cost = tf.tidy(() => tf.abs(randomNormal([7, 4], rng))) as tf.Tensor2D;
    const r = partialWasserstein(undefined, undefined, cost, { reg: 0.05, mass: 0.8, tol: 1e-9 });
    r.plan.dispose();
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThan(1000);
    expect(r.marginalError).toBeLessThan(1e-6);
    cost.dispose();
  });
});
