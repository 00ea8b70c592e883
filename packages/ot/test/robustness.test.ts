import {
  clusterImbalanced,
  kmeans,
  knnGaussianSimilarity,
  LogitsMemory,
  p2ot,
  partialWasserstein,
  rhoSchedule,
  similaritySubset,
  sinkhorn,
  sinkhornUnbalanced,
  sp2ot,
  swappedPredictionLoss,
  toSparseSimilarity,
} from '@distillery/ot';
import { assertNoTensorLeak, createRng, randomNormal, tf } from '@distillery/tensor';
import { expectClose, expectDistilleryError, expectDistilleryErrorAsync } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';

const cost = () => tf.tensor2d([0.1, 0.5, 0.9, 0.3, 0.2, 0.7], [2, 3]);

describe('bad input throws DistilleryError naming the argument', () => {
  it('cost with NaN / Inf', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const c = tf.tensor2d([0.1, bad, 0.3, 0.4], [2, 2]);
      expectDistilleryError(() => sinkhorn(undefined, undefined, c, { reg: 0.1 }), 'cost', 'NON_FINITE');
      expectDistilleryError(
        () => sinkhornUnbalanced(undefined, undefined, c, { reg: 0.1, regMarginals: 1 }),
        'cost',
        'NON_FINITE',
      );
      expectDistilleryError(() => partialWasserstein(undefined, undefined, c, { reg: 0.1 }), 'cost', 'NON_FINITE');
      expectDistilleryError(() => p2ot(c, { rho: 0.5 }), 'logits', 'NON_FINITE');
      c.dispose();
    }
  });

  it('a large cost with NaN / ±Inf is reported at its position by every engine', () => {
    const values = new Float32Array(37 * 29).fill(0.5);
    for (const [bad, at] of [
      [Number.NaN, 17 * 29 + 5],
      [Number.NEGATIVE_INFINITY, 37 * 29 - 1],
      [Number.POSITIVE_INFINITY, 3],
    ] as const) {
      const c = tf.tensor2d(
        values.map((x, i) => (i === at ? bad : x)),
        [37, 29],
      );
      for (const engine of ['float64', 'backend'] as const) {
        for (const solve of [
          () => sinkhorn(undefined, undefined, c, { reg: 0.1, engine }),
          () => sinkhornUnbalanced(undefined, undefined, c, { reg: 0.1, regMarginals: 1, engine }),
          () => partialWasserstein(undefined, undefined, c, { reg: 0.1, engine }),
        ]) {
          const err = expectDistilleryError(solve, 'cost', 'NON_FINITE');
          expect(err.message).toContain(`${bad} at [${Math.floor(at / 29)}, ${at % 29}]`);
        }
      }
      c.dispose();
    }
  });

  it('marginals: negative, wrong length, not summing as required, non-finite', () => {
    const c = cost();
    expectDistilleryError(() => sinkhorn([0.7, -0.2], undefined, c, { reg: 0.1 }), 'a', 'OUT_OF_RANGE');
    expectDistilleryError(() => sinkhorn([0.5, 0.5], [0.5, 0.5], c, { reg: 0.1 }), 'b', 'SHAPE_MISMATCH');
    expectDistilleryError(() => sinkhorn([0.5, 0.5], [0.5, 0.5, 0.5], c, { reg: 0.1 }), 'b', 'INVALID_ARGUMENT');
    expectDistilleryError(() => sinkhorn([Number.NaN, 0.5], undefined, c, { reg: 0.1 }), 'a', 'NON_FINITE');
    expectDistilleryError(() => sinkhorn([0, 0], undefined, c, { reg: 0.1 }), 'a', 'OUT_OF_RANGE');
    expectDistilleryError(() => partialWasserstein(undefined, undefined, c, { reg: 0.1, mass: 1.5 }), 'options.mass');
    expectDistilleryError(
      () => sinkhornUnbalanced(undefined, undefined, c, { reg: 0.1, regMarginals: -1 }),
      'options.regMarginals',
    );
    c.dispose();
  });

  it('empty inputs: no rows, no clusters, empty marginals', () => {
    const noClusters = tf.zeros([4, 0]);
    const noRows = tf.zeros([0, 3]);
    expectDistilleryError(() => sinkhorn(undefined, undefined, noClusters, { reg: 0.1 }), 'cost', 'EMPTY_INPUT');
    expectDistilleryError(() => sinkhorn(undefined, undefined, noRows, { reg: 0.1 }), 'cost', 'EMPTY_INPUT');
    expectDistilleryError(() => p2ot(noClusters, { rho: 0.5 }), 'logits', 'OUT_OF_RANGE');
    expectDistilleryError(() => p2ot(noRows, { rho: 0.5 }), 'logits', 'EMPTY_INPUT');
    const c = cost();
    expectDistilleryError(() => sinkhorn([], undefined, c, { reg: 0.1 }), 'a', 'SHAPE_MISMATCH');
    tf.dispose([noClusters, noRows, c]);
  });

  it('options', () => {
    const c = cost();
    expectDistilleryError(() => sinkhorn(undefined, undefined, c, { reg: 0 }), 'options.reg', 'OUT_OF_RANGE');
    expectDistilleryError(
      () => sinkhorn(undefined, undefined, c, { reg: 0.1, maxIter: 1.5 }),
      'options.maxIter',
      'NOT_INTEGER',
    );
    expectDistilleryError(
      () => sinkhorn(undefined, undefined, c, { reg: 0.1, engine: 'gpu' as unknown as 'backend' }),
      'options.engine',
    );
    expectDistilleryError(() => p2ot(c, { rho: 0 }), 'options.rho', 'OUT_OF_RANGE');
    expectDistilleryError(() => p2ot(c, { rho: 1.2 }), 'options.rho', 'OUT_OF_RANGE');
    expectDistilleryError(() => p2ot(c, { rho: 0.5, warmStart: { logB: new Float64Array(7) } }), 'options.warmStart');
    expectDistilleryError(
      () => sinkhorn(undefined, undefined, tf.tensor1d([1, 2]), { reg: 0.1 }),
      'cost',
      'INVALID_RANK',
    );
    expectDistilleryError(() => sp2ot(c, tf.eye(3), { rho: 0.5 }), 'similarity', 'SHAPE_MISMATCH');
    expectDistilleryError(() => knnGaussianSimilarity(c, { k: 2 }), 'options.k', 'OUT_OF_RANGE');
    c.dispose();
  });
});

describe('log-domain stability', () => {
  it('reg = 1e-3 with costs up to 5 stays finite and feasible on both engines (the kernel form underflows)', () => {
    const rng = createRng(3);
    const c = tf.mul(randomNormal([20, 10], rng), 2).abs() as tf.Tensor2D;
    for (const engine of ['float64', 'backend'] as const) {
      const r = sinkhorn(undefined, undefined, c, { reg: 1e-3, engine, tol: 1e-5 });
      const plan = r.plan.dataSync();
      expect(plan.every(Number.isFinite)).toBe(true);
      expect(r.marginalError).toBeLessThan(1e-2);
      const u = sinkhornUnbalanced(undefined, undefined, c, { reg: 1e-3, regMarginals: 1, engine });
      expect(u.plan.dataSync().every(Number.isFinite)).toBe(true);
      const p = partialWasserstein(undefined, undefined, c, { reg: 1e-3, mass: 0.5, engine, maxIter: 50 });
      expect(p.plan.dataSync().every(Number.isFinite)).toBe(true);
      expect(tf.sum(p.plan).dataSync()[0]).toBeCloseTo(0.5, 4);
      tf.dispose([r.plan, u.plan, p.plan]);
    }
    const logits = tf.mul(randomNormal([30, 5], rng), 20);
    const q = p2ot(logits, { rho: 0.5, epsilon: 1e-3, engine: 'backend' });
    expect(q.pseudoLabels.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([c, logits, q.pseudoLabels]);
  });
});

describe('no tensor leaks', () => {
  it('100 solves of each solver and the loss', async () => {
    const c = cost();
    const logits = tf.tensor2d([1, 2, 3, 0, 1, -1, 2, 2, 0], [3, 3]);
    const s = tf.tidy(() => tf.sub(1, tf.eye(3)));
    await assertNoTensorLeak(
      () => {
        for (const engine of ['float64', 'backend'] as const) {
          const maxIter = 20;
          tf.dispose(sinkhorn(undefined, undefined, c, { reg: 0.1, engine, maxIter }).plan);
          tf.dispose(sinkhornUnbalanced(undefined, undefined, c, { reg: 0.1, regMarginals: 1, engine, maxIter }).plan);
          tf.dispose(partialWasserstein(undefined, undefined, c, { reg: 0.1, engine, maxIter }).plan);
          tf.dispose(p2ot(logits, { rho: 0.3, engine, maxIter }).pseudoLabels);
        }
        tf.dispose(sp2ot(logits, s, { rho: 0.3, mmIter: 3 }).pseudoLabels);
        const q = tf.softmax(logits);
        tf.dispose([swappedPredictionLoss(logits, logits, q, q), q]);
      },
      100,
      'ot solvers',
    );
    tf.dispose([c, logits, s]);
  });
});

describe('rhoSchedule', () => {
  it('sigmoid ramp: 0.1 + 0.9·exp(−5(1 − t/T)²), clipped; linear ramp', () => {
    expect(rhoSchedule(0, 100)).toBeCloseTo(0.1 + 0.9 * Math.exp(-5), 12);
    expect(rhoSchedule(50, 100)).toBeCloseTo(0.1 + 0.9 * Math.exp(-1.25), 12);
    expect(rhoSchedule(100, 100)).toBe(1);
    expect(rhoSchedule(250, 100)).toBe(1);
    expect(rhoSchedule(-3, 100)).toBeCloseTo(rhoSchedule(0, 100), 12);
    expect(rhoSchedule(25, 100, { kind: 'linear', base: 0.2, upper: 0.6 })).toBeCloseTo(0.3, 12);
    expectDistilleryError(() => rhoSchedule(1, 10, { kind: 'cosine' as 'linear' }), 'options.kind');
  });
});

describe('LogitsMemory', () => {
  it('enqueues as a ring, view 1 overwrites view 0, batch rows wrap', () => {
    const bank = new LogitsMemory(2, 6);
    const batch = (v: number) => tf.tensor2d([v, v, v + 1, v + 1, v + 2, v + 2, v + 3, v + 3], [4, 2]);
    const b0 = batch(0);
    expect(bank.update(b0)).toBe(4);
    expect(bank.batchRows(4)).toEqual([0, 4]);
    const b1 = batch(10);
    expect(bank.update(b1, { enqueue: false })).toBe(4);
    expect(Array.from(bank.memory.slice(0, 8))).toEqual([10, 10, 11, 11, 12, 12, 13, 13]);
    const b2 = batch(20);
    expect(bank.update(b2)).toBe(2);
    // rows 4, 5 then 0, 1 were written
    expect(Array.from(bank.memory)).toEqual([22, 22, 23, 23, 12, 12, 13, 13, 20, 20, 21, 21]);
    expect(bank.filled).toBe(6);
    expect(bank.batchRows(2)).toEqual([0, 2]);
    const b3 = tf.tensor2d([7, 7, 8, 8, 9, 9, 1, 1], [4, 2]);
    bank.update(b3);
    expect(bank.index).toBe(0);
    expect(bank.batchRows(4)).toEqual([2, 6]);
    const plan = bank.tensor();
    const rows = bank.sliceBatch(plan, 4);
    expect(Array.from(rows.dataSync())).toEqual([7, 7, 8, 8, 9, 9, 1, 1]);
    expectDistilleryError(() => bank.update(tf.zeros([2, 3])), 'logits', 'SHAPE_MISMATCH');
    tf.dispose([b0, b1, b2, b3, plan, rows]);
  });
});

describe('swappedPredictionLoss', () => {
  it('equals CE_soft(z1, Q2) + CE_soft(z2, Q1) and differentiates into the logits only', () => {
    const z1 = tf.tensor2d([1, 2, 0.5, -1, 0, 3], [2, 3]);
    const z2 = tf.tensor2d([0, 1, 2, 1, 1, 1], [2, 3]);
    const q1 = tf.tensor2d([0.2, 0.3, 0.1, 0, 0.5, 0.5], [2, 3]);
    const q2 = tf.tensor2d([0.9, 0, 0, 0.1, 0.1, 0.1], [2, 3]);
    const ls = (z: number[]) => {
      const m = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
      return z.map((v) => v - m);
    };
    const ce = (z: number[][], q: number[][]) =>
      -(z.map((row, n) => ls(row).reduce((s, l, k) => s + q[n]![k]! * l, 0)).reduce((a, b) => a + b) / z.length);
    const Z1 = z1.arraySync();
    const Z2 = z2.arraySync();
    const Q1 = q1.arraySync();
    const Q2 = q2.arraySync();
    const loss = swappedPredictionLoss(z1, z2, q1, q2);
    expect(loss.dataSync()[0]).toBeCloseTo(ce(Z1, Q2) + ce(Z2, Q1), 5);
    // d/dz1 CE_soft(z1, Q2) = (softmax(z1)·ΣQ2 − Q2)/N
    const g = tf.grad((z: tf.Tensor) => swappedPredictionLoss(z, z2, q1, q2))(z1);
    const expected = tf.tidy(() => tf.div(tf.sub(tf.mul(tf.softmax(z1), tf.sum(q2, 1, true)), q2), 2));
    expectClose(g.dataSync(), expected.dataSync(), 1e-4, 1e-6);
    tf.dispose([z1, z2, q1, q2, loss, g, expected]);
  });
});

/**
 * The sweep of issue 13: every public function of @distillery/ot with bad inputs (non-finite values, zero masses,
 * mismatched shapes, unknown options, bad enums, out-of-range numbers). Each must give a DistilleryError naming the
 * argument a user would fix.
 */
describe('robustness sweep: one case per public function', () => {
  const c = () => tf.tensor2d([0.1, 0.5, 0.9, 0.3, 0.2, 0.7], [2, 3]);
  const typo = <T>(o: object | null) => o as unknown as T;

  it('sinkhorn', () => {
    const cost = c();
    const nan = tf.tensor2d([0.1, Number.NaN, 0.3, 0.4, 0.5, 0.6], [2, 3]);
    expectDistilleryError(() => sinkhorn(undefined, undefined, nan, { reg: 0.1 }), 'cost', 'NON_FINITE');
    expectDistilleryError(() => sinkhorn(undefined, undefined, cost, { reg: -1 }), 'options.reg', 'OUT_OF_RANGE');
    expectDistilleryError(() => sinkhorn(undefined, undefined, cost, { reg: Number.NaN }), 'options.reg');
    expectDistilleryError(
      () => sinkhorn(undefined, undefined, cost, typo({ reg: 0.1, maxiter: 5 })),
      'options.maxiter',
    );
    expectDistilleryError(
      () => sinkhorn(undefined, undefined, cost, typo({ reg: 0.1, engine: 'gpu' })),
      'options.engine',
    );
    expectDistilleryError(() => sinkhorn(undefined, undefined, cost, typo({})), 'options.reg');
    expectDistilleryError(() => sinkhorn(undefined, undefined, cost, typo(null)), 'options');
    expectDistilleryError(() => sinkhorn([0, 0], undefined, cost, { reg: 0.1 }), 'a', 'OUT_OF_RANGE');
    expectDistilleryError(() => sinkhorn([1, 0], [0.5, 0.5], cost, { reg: 0.1 }), 'b', 'SHAPE_MISMATCH');
    expectDistilleryError(() => sinkhorn(undefined, [1, 0, 0.5], cost, { reg: 0.1 }), 'b');
    expectDistilleryError(() => sinkhorn(undefined, undefined, cost, { reg: 0.1, tol: 0 }), 'options.tol');
    tf.dispose([cost, nan]);
  });

  it('sinkhornUnbalanced', () => {
    const cost = c();
    const inf = tf.tensor2d([0.1, Number.POSITIVE_INFINITY, 0.3, 0.4, 0.5, 0.6], [2, 3]);
    const ok = { reg: 0.1, regMarginals: 1 };
    expectDistilleryError(() => sinkhornUnbalanced(undefined, undefined, inf, ok), 'cost', 'NON_FINITE');
    expectDistilleryError(() => sinkhornUnbalanced(undefined, undefined, cost, { ...ok, reg: 0 }), 'options.reg');
    expectDistilleryError(
      () => sinkhornUnbalanced(undefined, undefined, cost, { ...ok, regMarginals: Number.NaN }),
      'options.regMarginals',
    );
    expectDistilleryError(
      () => sinkhornUnbalanced(undefined, undefined, cost, typo({ reg: 0.1 })),
      'options.regMarginals',
    );
    expectDistilleryError(
      () => sinkhornUnbalanced(undefined, undefined, cost, typo({ ...ok, reg_m: 1 })),
      'options.reg_m',
    );
    expectDistilleryError(() => sinkhornUnbalanced([0.5, -0.5], undefined, cost, ok), 'a', 'OUT_OF_RANGE');
    expectDistilleryError(() => sinkhornUnbalanced(undefined, [0, 0, 0], cost, ok), 'b', 'OUT_OF_RANGE');
    tf.dispose([cost, inf]);
  });

  it('partialWasserstein', () => {
    const cost = c();
    expectDistilleryError(() => partialWasserstein(undefined, undefined, cost, { reg: -0.1 }), 'options.reg');
    expectDistilleryError(() => partialWasserstein(undefined, undefined, cost, { reg: 0.1, mass: 2 }), 'options.mass');
    expectDistilleryError(() => partialWasserstein(undefined, undefined, cost, { reg: 0.1, mass: -1 }), 'options.mass');
    expectDistilleryError(
      () => partialWasserstein(undefined, undefined, cost, typo({ reg: 0.1, m: 0.5 })),
      'options.m',
    );
    expectDistilleryError(
      () => partialWasserstein(undefined, undefined, cost, typo({ reg: 0.1, engine: 'wasm' })),
      'options.engine',
    );
    expectDistilleryError(() => partialWasserstein([1, 2, 3], undefined, cost, { reg: 0.1 }), 'a', 'SHAPE_MISMATCH');
    expectDistilleryError(() => partialWasserstein(undefined, undefined, tf.tensor1d([1]), { reg: 0.1 }), 'cost');
    cost.dispose();
  });

  it('p2ot', () => {
    const logits = c();
    const nan = tf.tensor2d([0.1, Number.NaN, 0.3, 0.4, 0.5, 0.6], [2, 3]);
    expectDistilleryError(() => p2ot(nan, { rho: 0.5 }), 'logits', 'NON_FINITE');
    expectDistilleryError(() => p2ot(logits, { rho: -0.1 }), 'options.rho', 'OUT_OF_RANGE');
    expectDistilleryError(() => p2ot(logits, typo({})), 'options.rho');
    expectDistilleryError(() => p2ot(logits, typo({ rho: 0.5, epsilon: 0.1, gama: 2 })), 'options.gama');
    expectDistilleryError(() => p2ot(logits, typo({ rho: 0.5, stopRule: 'rel' })), 'options.stopRule');
    expectDistilleryError(() => p2ot(logits, typo({ rho: 0.5, semiRelaxed: 'yes' })), 'options.semiRelaxed');
    expectDistilleryError(() => p2ot(logits, { rho: 0.5, epsilon: 0 }), 'options.epsilon', 'OUT_OF_RANGE');
    expectDistilleryError(() => p2ot(logits, { rho: 0.5, gamma: -1 }), 'options.gamma', 'OUT_OF_RANGE');
    expectDistilleryError(() => p2ot(tf.tensor1d([1, 2]), { rho: 0.5 }), 'logits');
    tf.dispose([logits, nan]);
  });

  it('sp2ot', () => {
    const logits = c();
    const s = tf.tidy(() => tf.sub(1, tf.eye(2)));
    const badS = tf.tensor2d([0, Number.NaN, 1, 0], [2, 2]);
    expectDistilleryError(() => sp2ot(logits, tf.eye(3), { rho: 0.5 }), 'similarity', 'SHAPE_MISMATCH');
    expectDistilleryError(() => sp2ot(logits, badS, { rho: 0.5 }), 'similarity', 'NON_FINITE');
    expectDistilleryError(() => sp2ot(logits, typo({ n: 2 }), { rho: 0.5 }), 'similarity');
    expectDistilleryError(() => sp2ot(logits, s, typo({ rho: 0.5, mm_iter: 3 })), 'options.mm_iter');
    expectDistilleryError(() => sp2ot(logits, s, typo({ rho: 0.5, stopRule: 'absolute' })), 'options.stopRule');
    expectDistilleryError(() => sp2ot(logits, s, { rho: 0.5, mmIter: 0 }), 'options.mmIter');
    expectDistilleryError(() => sp2ot(logits, s, { rho: 0.5, lambda: -1 }), 'options.lambda', 'OUT_OF_RANGE');
    expectDistilleryError(() => sp2ot(logits, s, { rho: 0.5, mmFactor: Number.NaN }), 'options.mmFactor');
    expectDistilleryError(() => sp2ot(logits, s, { rho: 2 }), 'options.rho', 'OUT_OF_RANGE');
    tf.dispose([logits, s, badS]);
  });

  it('rhoSchedule', () => {
    expectDistilleryError(() => rhoSchedule(Number.NaN, 10), 'step');
    expectDistilleryError(() => rhoSchedule(1, -1), 'total', 'OUT_OF_RANGE');
    expectDistilleryError(() => rhoSchedule(1, 10, { base: 1.5 }), 'options.base', 'OUT_OF_RANGE');
    expectDistilleryError(() => rhoSchedule(1, 10, { upper: -0.1 }), 'options.upper', 'OUT_OF_RANGE');
    expectDistilleryError(() => rhoSchedule(1, 10, typo({ kind: 'cos' })), 'options.kind');
    expectDistilleryError(() => rhoSchedule(1, 10, typo({ rho_base: 0.2 })), 'options.rho_base');
  });

  it('knnGaussianSimilarity', () => {
    const x = tf.tensor2d([0, 1, 2, 3, 4, 5, 6, 7], [4, 2]);
    const nan = tf.tensor2d([0, 1, Number.NaN, 3], [2, 2]);
    expectDistilleryError(() => knnGaussianSimilarity(nan, { k: 1 }), 'features', 'NON_FINITE');
    expectDistilleryError(() => knnGaussianSimilarity(x, { k: 4 }), 'options.k', 'OUT_OF_RANGE');
    expectDistilleryError(() => knnGaussianSimilarity(x, { k: 1, sigma: 0 }), 'options.sigma', 'OUT_OF_RANGE');
    expectDistilleryError(() => knnGaussianSimilarity(x, typo({ k: 2, topk: 2 })), 'options.topk');
    expectDistilleryError(() => knnGaussianSimilarity(tf.tensor1d([1, 2]), { k: 1 }), 'features');
    tf.dispose([x, nan]);
  });

  it('toSparseSimilarity', () => {
    const nan = tf.tensor2d([0, Number.NaN, 1, 0], [2, 2]);
    expectDistilleryError(() => toSparseSimilarity(tf.zeros([2, 3])), 'similarity', 'SHAPE_MISMATCH');
    expectDistilleryError(() => toSparseSimilarity(nan, 'S'), 'S', 'NON_FINITE');
    expectDistilleryError(() => toSparseSimilarity(typo({ n: 2, rowPtr: [0, 0, 0] })), 'similarity');
    nan.dispose();
  });

  it('similaritySubset', () => {
    const x = tf.tensor2d([0, 1, 2, 3, 4, 5, 6, 7], [4, 2]);
    const s = knnGaussianSimilarity(x, { k: 2 });
    expectDistilleryError(() => similaritySubset(s, [0, 4]), 'idx', 'OUT_OF_RANGE');
    expectDistilleryError(() => similaritySubset(s, [0, 1.5]), 'idx', 'OUT_OF_RANGE');
    expectDistilleryError(() => similaritySubset(s, [-1]), 'idx', 'OUT_OF_RANGE');
    expectDistilleryError(() => similaritySubset(typo({ n: 4 }), [0]), 'similarity');
    x.dispose();
  });

  it('LogitsMemory', () => {
    expectDistilleryError(() => new LogitsMemory(0, 4), 'dim');
    expectDistilleryError(() => new LogitsMemory(2, 1.5), 'size', 'NOT_INTEGER');
    const bank = new LogitsMemory(2, 4);
    const z = tf.zeros([2, 2]);
    expectDistilleryError(() => bank.update(tf.zeros([2, 3])), 'logits', 'SHAPE_MISMATCH');
    expectDistilleryError(() => bank.update(tf.zeros([5, 2])), 'logits', 'OUT_OF_RANGE');
    expectDistilleryError(() => bank.update(z, typo({ enque: false })), 'options.enque');
    expectDistilleryError(() => bank.update(z, typo({ enqueue: 'no' })), 'options.enqueue');
    expectDistilleryError(() => bank.batchRows(5), 'batchSize', 'OUT_OF_RANGE');
    expectDistilleryError(() => bank.sliceBatch(tf.zeros([3, 2]), 2), 'plan', 'SHAPE_MISMATCH');
    z.dispose();
  });

  it('swappedPredictionLoss', () => {
    const z = c();
    const q = tf.zeros([2, 3]);
    expectDistilleryError(() => swappedPredictionLoss(z, tf.zeros([2, 2]), q, q), 'logits2', 'SHAPE_MISMATCH');
    expectDistilleryError(() => swappedPredictionLoss(z, z, tf.zeros([3, 3]), q), 'q1', 'SHAPE_MISMATCH');
    expectDistilleryError(() => swappedPredictionLoss(z, z, q, tf.zeros([2])), 'q2');
    expectDistilleryError(() => swappedPredictionLoss(tf.zeros([2]), z, q, q), 'logits1');
    tf.dispose([z, q]);
  });

  it('kmeans', () => {
    const x = tf.tensor2d([0, 1, 2, 3, 4, 5], [3, 2]);
    const nan = tf.tensor2d([0, Number.NaN, 2, 3], [2, 2]);
    expectDistilleryError(() => kmeans(nan, { k: 1 }), 'features', 'NON_FINITE');
    expectDistilleryError(() => kmeans(x, { k: 4 }), 'options.k', 'OUT_OF_RANGE');
    expectDistilleryError(() => kmeans(x, { k: 0 }), 'options.k', 'OUT_OF_RANGE');
    expectDistilleryError(() => kmeans(x, typo({ k: 2, n_init: 3 })), 'options.n_init');
    expectDistilleryError(() => kmeans(x, { k: 2, tol: -1 }), 'options.tol', 'OUT_OF_RANGE');
    expectDistilleryError(() => kmeans(x, typo(null)), 'options');
    tf.dispose([x, nan]);
  });

  it('clusterImbalanced', async () => {
    const x = tf.tidy(() => randomNormal([12, 3], createRng(0)));
    const nan = tf.tensor2d([0, Number.NaN, 2, 3], [2, 2]);
    const ok = { numClusters: 2, epochs: 1 };
    await expectDistilleryErrorAsync(() => clusterImbalanced(nan, ok), 'features', 'NON_FINITE');
    await expectDistilleryErrorAsync(() => clusterImbalanced(x, typo({ ...ok, solver: 'pot' })), 'options.solver');
    await expectDistilleryErrorAsync(() => clusterImbalanced(x, typo({ ...ok, head: 'cos' })), 'options.head');
    await expectDistilleryErrorAsync(() => clusterImbalanced(x, typo({ ...ok, rhoKind: 'step' })), 'options.rhoKind');
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, typo({ ...ok, learning_rate: 0.1 })),
      'options.learning_rate',
    );
    await expectDistilleryErrorAsync(() => clusterImbalanced(x, { ...ok, numClusters: 20 }), 'features', 'EMPTY_INPUT');
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, { ...ok, rhoBase: 2 }),
      'options.rhoBase',
      'OUT_OF_RANGE',
    );
    await expectDistilleryErrorAsync(() => clusterImbalanced(x, { ...ok, knn: 0, solver: 'sp2ot' }), 'options.knn');
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, { ...ok, solver: 'sp2ot', similarity: typo({ n: 12 }) }),
      'options.similarity',
    );
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, { ...ok, bankSize: 7, batchSize: 4 }),
      'options.bankSize',
    );
    await expectDistilleryErrorAsync(() => clusterImbalanced(x, { ...ok, learningRate: -1 }), 'options.learningRate');
    tf.dispose([x, nan]);
  });
});
