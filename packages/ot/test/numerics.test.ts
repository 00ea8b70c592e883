/**
 * Silent wrong results of issue 13: no solver may return a NaN plan, report convergence from non-finite values, or
 * call an infeasible plan converged; zero-mass rows and columns come out as exact zeros.
 */
import {
  clusterImbalanced,
  knnGaussianSimilarity,
  type OtEngine,
  partialWasserstein,
  sinkhorn,
  sinkhornUnbalanced,
  sp2ot,
} from '@distillery/ot';
import { createRng, randomNormal, tf } from '@distillery/tensor';
import { expectDistilleryErrorAsync } from '@distillery/test-support';
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

/** Σ Q / N and the largest row sum of N·plan, after checking every entry is finite and in [0, 1]. */
function checkPseudoLabels(q: tf.Tensor2D): { mass: number; maxRow: number } {
  const [n, k] = q.shape;
  const values = q.dataSync();
  q.dispose();
  let mass = 0;
  let maxRow = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < k; j++) {
      const v = values[i * k + j]!;
      expect(Number.isFinite(v) && v >= 0, `Q[${i}, ${j}] = ${v}`).toBe(true);
      row += v;
    }
    mass += row / n;
    maxRow = Math.max(maxRow, row);
  }
  return { mass, maxRow };
}

describe('sp2ot at its official defaults (λ₁ = (1 − ρ)·1000) on small banks', () => {
  it('logits 64×4, kNN similarity of 64×8 features, ρ = 0.5: finite, transports exactly ρ', () => {
    const rng = createRng(0);
    const logits = randomNormal([64, 4], rng);
    const features = randomNormal([64, 8], rng);
    const s = knnGaussianSimilarity(features);
    for (const engine of engines) {
      const r = sp2ot(logits, s, { rho: 0.5, engine });
      const { mass, maxRow } = checkPseudoLabels(r.pseudoLabels);
      const digits = engine === 'float64' ? 6 : 3; // the backend engine's log-sum-exps are float32
      expect(mass).toBeCloseTo(0.5, digits);
      expect(r.transportedMass).toBeCloseTo(0.5, digits);
      expect(maxRow).toBeLessThanOrEqual(1 + 1e-5);
      expect(Number.isFinite(r.objective)).toBe(true);
    }
    tf.dispose([logits, features]);
  });

  it('a well-separated 120-point mixture at ρ = 0.1: finite and mass 0.1 for mmIter 5 … 50', () => {
    const rng = createRng(4);
    const n = 120;
    const k = 3;
    const d = 4;
    const label = (i: number) => i % k;
    const features = tf.tensor2d(
      Array.from({ length: n * d }, (_, e) => (e % d === label(Math.floor(e / d)) ? 10 : 0) + rng.normal() * 0.3),
      [n, d],
    );
    const logits = tf.tensor2d(
      Array.from({ length: n * k }, (_, e) => (e % k === label(Math.floor(e / k)) ? 3 : 0) + rng.normal()),
      [n, k],
    );
    const s = knnGaussianSimilarity(features);
    for (const mmIter of [5, 20, 50]) {
      const r = sp2ot(logits, s, { rho: 0.1, mmIter });
      const { mass } = checkPseudoLabels(r.pseudoLabels);
      expect(mass).toBeCloseTo(0.1, 6);
      expect(r.transportedMass).toBeCloseTo(0.1, 6);
    }
    tf.dispose([features, logits]);
  });
});

describe("clusterImbalanced({ solver: 'sp2ot' })", () => {
  it('trains (no error about an internal logits tensor) and returns finite prototypes', async () => {
    const rng = createRng(0);
    const x = randomNormal([100, 6], rng);
    const r = await clusterImbalanced(x, { numClusters: 3, solver: 'sp2ot', epochs: 1, batchSize: 50 });
    expect(r.assignments.length).toBe(100);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.prototypes.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([x, r.prototypes]);
  });

  it('a diverging run names options.learningRate, not an internal tensor', async () => {
    const x = randomNormal([40, 4], createRng(1));
    for (const solver of ['p2ot', 'sp2ot'] as const) {
      await expectDistilleryErrorAsync(
        () =>
          clusterImbalanced(x, {
            numClusters: 2,
            solver,
            head: 'linear',
            learningRate: 1e38,
            epochs: 3,
            batchSize: 20,
          }),
        'options.learningRate',
        'NON_FINITE',
      );
    }
    x.dispose();
  });
});
