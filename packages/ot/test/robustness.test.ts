import {
  knnGaussianSimilarity,
  LogitsMemory,
  p2ot,
  partialWasserstein,
  rhoSchedule,
  sinkhorn,
  sinkhornUnbalanced,
  sp2ot,
  swappedPredictionLoss,
} from '@distillery/ot';
import { assertNoTensorLeak, createRng, randomNormal, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { expectClose, expectDistilleryError } from '../../../tests/support/expect';

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
