import {
  balancedSoftmaxLoss,
  crossEntropy,
  deitLtDistillationLoss,
  dkdLoss,
  kdLoss,
  linearWarmup,
  logitAdjustedLoss,
  mdcsLoss,
  nkdLoss,
  splcLoss,
  uskdLoss,
} from '@distillery/losses';
import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { countsOf, labelsOf, logitsOf } from './specs';

const scalar = (t: tf.Tensor) => {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
};

function expectError(fn: () => unknown, argument: string, code?: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).argument).toBe(argument);
    if (code) expect((e as DistilleryError).code).toBe(code);
    return;
  }
  throw new Error(`expected a DistilleryError naming ${argument}`);
}

describe('distillation identities', () => {
  it('KD is 0 when the student equals the teacher, and scales as T² at fixed distributions', () => {
    const z = logitsOf(4, 6);
    expect(Math.abs(scalar(kdLoss(z, z)))).toBeLessThan(1e-6);
    // KD(T) = T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)); with logits scaled by T the KL is that of T = 1
    const s = logitsOf(4, 6);
    const kl1 = scalar(kdLoss(s, z, { temperature: 1 }));
    const s3 = tf.mul(s, 3) as tf.Tensor2D;
    const z3 = tf.mul(z, 3) as tf.Tensor2D;
    expect(scalar(kdLoss(s3, z3, { temperature: 3 }))).toBeCloseTo(9 * kl1, 4);
  });

  it('DKD with α = 1, β = 1 − p_t-weighted recovers KD (the paper eq. KD = TCKD + (1 − p_t)·NCKD)', () => {
    // With one row, KD = TCKD + (1 − p_t^T)·NCKD exactly (Zhao et al., eq. 1).
    const s = tf.tensor2d([[1.5, -0.3, 0.2, 2.0]]);
    const t = tf.tensor2d([[0.3, 1.1, -0.5, 2.5]]);
    const y = tf.tensor1d([3], 'int32');
    const pt = tf.softmax(t).dataSync()[3] as number;
    const tckd = scalar(dkdLoss(s, t, y, { alpha: 1, beta: 0, temperature: 1 }));
    const nckd = scalar(dkdLoss(s, t, y, { alpha: 0, beta: 1, temperature: 1 }));
    expect(tckd + (1 - pt) * nckd).toBeCloseTo(scalar(kdLoss(s, t, { temperature: 1 })), 5);
  });

  it('linearWarmup is min(epoch / epochs, 1), 1 without warm-up', () => {
    expect(linearWarmup(5, 20)).toBe(0.25);
    expect(linearWarmup(40, 20)).toBe(1);
    expect(linearWarmup(3, 0)).toBe(1);
    expectError(() => linearWarmup(-1, 20), 'epoch', 'OUT_OF_RANGE');
  });

  it('NKD with soft targets equals NKD with their argmax as hard labels', () => {
    const s = logitsOf(4, 5);
    const t = logitsOf(4, 5);
    const soft = tf.tensor2d([
      [0.1, 0.6, 0.1, 0.1, 0.1],
      [0.7, 0.0, 0.3, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.45, 0.55],
      [0.2, 0.2, 0.2, 0.2, 0.2],
    ]);
    const hard = tf.tensor1d([1, 0, 4, 0], 'int32');
    expect(scalar(nkdLoss(s, t, soft))).toBeCloseTo(scalar(nkdLoss(s, t, hard)), 6);
  });

  it('USKD trains the weak head only through loss_weak: its gradient is μ·(softmax − target)/N', () => {
    const s = logitsOf(4, 6);
    const w = tf.variable(logitsOf(4, 6));
    const y = labelsOf(4, 6);
    const mu = 0.3;
    const { grads } = tf.variableGrads(() => uskdLoss(s, w, y, { mu }), [w]);
    const target = tf.add(tf.mul(tf.oneHot(y, 6), 0.9), 0.1 / 6);
    const expected = tf.div(tf.mul(tf.sub(tf.softmax(w), target), mu), 4);
    const got = grads[w.name]!.dataSync();
    expected.dataSync().forEach((e, i) => {
      expect(got[i] as number).toBeCloseTo(e, 6);
    });
  });
});

describe('long-tail identities', () => {
  it('logit adjustment at τ = 1 equals Balanced Softmax, and counts equal priors', () => {
    const z = logitsOf(6, 5);
    const y = labelsOf(6, 5);
    const counts = countsOf(5);
    const total = counts.reduce((a, b) => a + b, 0);
    const bs = scalar(balancedSoftmaxLoss(z, y, counts));
    expect(
      scalar(
        logitAdjustedLoss(
          z,
          y,
          counts.map((n) => n / total),
        ),
      ),
    ).toBeCloseTo(bs, 5);
    expect(scalar(logitAdjustedLoss(z, y, counts))).toBeCloseTo(bs, 5);
    expect(scalar(logitAdjustedLoss(z, y, counts, { tau: 0 }))).toBeCloseTo(scalar(crossEntropy(z, y)), 6);
  });

  it("deitLtDistillationLoss type 'none' trains the DIST head on the labels (val-iisc/DeiT-LT losses.py), no teacher", () => {
    const cls = logitsOf(6, 5);
    const dist = logitsOf(6, 5, 2);
    const y = labelsOf(6, 5);
    const w = countsOf(5).map((v) => 1 / v);
    // (1 − α)·CE(cls, y) + α·CE(dist, y); weighted: the DIST head's CE is class-weighted by the true label.
    const expected = (alpha: number, weights?: number[]) =>
      (1 - alpha) * scalar(crossEntropy(cls, y)) +
      alpha * scalar(crossEntropy(dist, y, weights ? { classWeights: weights } : {}));
    expect(scalar(deitLtDistillationLoss(cls, dist, null, y, { type: 'none' }))).toBeCloseTo(expected(0.5), 5);
    expect(scalar(deitLtDistillationLoss(cls, dist, null, y, { type: 'none', alpha: 0.3 }))).toBeCloseTo(
      expected(0.3),
      5,
    );
    expect(scalar(deitLtDistillationLoss(cls, dist, null, y, { type: 'none', classWeights: w }))).toBeCloseTo(
      expected(0.5, w),
      5,
    );
    // The DIST head is on the path now (it was not, before the fix).
    const clsVar = tf.variable(cls, true, 'cls');
    const distVar = tf.variable(dist, true, 'dist');
    const { value, grads } = tf.variableGrads(() =>
      deitLtDistillationLoss(clsVar as tf.Tensor2D, distVar as tf.Tensor2D, null, y, { type: 'none' }),
    );
    expect(Object.keys(grads).sort()).toEqual(['cls', 'dist']);
    expect(Math.max(...Array.from((grads.dist as tf.Tensor).dataSync(), Math.abs))).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads), clsVar, distVar]);
    expectError(() => deitLtDistillationLoss(cls, dist, null, y, { type: 'medium' as 'none' }), 'options.type');
    // a teacher is still required by the distilling types
    expectError(() => deitLtDistillationLoss(cls, dist, null, y, { type: 'hard' }), 'teacherLogits');
    tf.dispose([cls, dist, y]);
  });

  it('crossEntropy with all-zero weights in a batch gives 0, not NaN', () => {
    const z = logitsOf(2, 3);
    expect(scalar(crossEntropy(z, tf.tensor1d([0, 0], 'int32'), { classWeights: [0, 1, 1] }))).toBe(0);
  });
});

describe('mdcsLoss', () => {
  const experts = () => [logitsOf(8, 5), logitsOf(8, 5), logitsOf(8, 5)];
  const counts = [100, 50, 20, 5, 1];

  it('equals the diversity loss alone at epoch 0 (warm-up factor 0)', () => {
    const labels = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const e = experts();
    const atZero = scalar(mdcsLoss(e, labels, counts, { epoch: 0 }));
    const ce = e
      .map((z, k) => {
        const prior = tf.tensor1d(counts.map((n) => Math.log(n ** ([-0.5, 1, 2.5][k] as number) + 1e-9)));
        return scalar(crossEntropy(tf.add(z, prior) as tf.Tensor2D, labels));
      })
      .reduce((a, b) => a + b, 0);
    expect(atZero).toBeCloseTo(ce, 5);
  });

  it('rejects an odd number of rows, mismatched lambdas, mismatched experts, zero counts and bad labels', () => {
    const labels = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const e = experts();
    expectError(
      () => mdcsLoss([logitsOf(7, 5)], labelsOf(7, 5), counts, { epoch: 1, lambdas: [1] }),
      'expertLogits[0]',
    );
    expectError(() => mdcsLoss(e, labels, counts, { epoch: 1, lambdas: [1, 2] }), 'options.lambdas');
    expectError(() => mdcsLoss([e[0]!, logitsOf(8, 6), e[2]!], labels, counts, { epoch: 1 }), 'expertLogits[1]');
    expectError(() => mdcsLoss(e, labels, [100, 50, 0, 5, 1], { epoch: 1 }), 'classCounts', 'OUT_OF_RANGE');
    expectError(() => mdcsLoss(e, tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 5], 'int32'), counts, { epoch: 1 }), 'labels');
    expectError(() => mdcsLoss([], labels, counts, { epoch: 1 }), 'expertLogits');
    expectError(() => mdcsLoss(e, labels, counts, {} as { epoch: number }), 'options.epoch');
    expectError(
      () => mdcsLoss([tf.zeros([0, 5]) as tf.Tensor2D], tf.tensor1d([], 'int32'), counts, { epoch: 1, lambdas: [1] }),
      'expertLogits[0]',
      'EMPTY_INPUT',
    );
  });

  it('is finite at ±1e4 logits, detaches the weak view, and leaks nothing over 100 forward + backward passes', async () => {
    const labels = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const big = [logitsOf(8, 5, 1e4), logitsOf(8, 5, 1e4), logitsOf(8, 5, 1e4)];
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      mdcsLoss([a, b, c] as tf.Tensor2D[], labels, counts, { epoch: 30 }),
    )(big);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const g of grads) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    // weak rows confidently right for every expert, so the CIS mask selects them
    const boost = tf.concat([tf.mul(tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5), 30), tf.zeros([4, 5])]);
    const e = experts().map((z) => tf.add(z, boost) as tf.Tensor2D);
    // the weak view is the teacher: its rows get the same gradient with and without the consistency term
    const gradAt = (epoch: number) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        mdcsLoss([a, b, c] as tf.Tensor2D[], labels, counts, { epoch }),
      )(e);
    const [g0] = gradAt(0);
    const [g30] = gradAt(30);
    const a0 = g0!.arraySync() as number[][];
    const a30 = g30!.arraySync() as number[][];
    let weakDiff = 0;
    let strongDiff = 0;
    for (let r = 0; r < 8; r++) {
      for (let j = 0; j < 5; j++) {
        const d = Math.abs(a0[r]![j]! - a30[r]![j]!);
        if (r < 4) weakDiff = Math.max(weakDiff, d);
        else strongDiff = Math.max(strongDiff, d);
      }
    }
    expect(weakDiff).toBeLessThan(1e-7);
    expect(strongDiff).toBeGreaterThan(1e-4);
    await assertNoTensorLeak(
      () =>
        tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          mdcsLoss([a, b, c] as tf.Tensor2D[], labels, counts, { epoch: 30 }),
        )(e),
      100,
      'mdcsLoss',
    );
  });
});

describe('splcLoss', () => {
  it('rejects non-binary targets and requires the epoch', () => {
    const z = logitsOf(2, 3);
    expectError(
      () =>
        splcLoss(
          z,
          tf.tensor2d([
            [0, 0.5, 1],
            [1, 0, 0],
          ]),
          { epoch: 1 },
        ),
      'multiHotTargets',
      'OUT_OF_RANGE',
    );
    expectError(
      () =>
        splcLoss(
          z,
          tf.tensor2d([
            [0, 0, 1],
            [1, 0, 0],
          ]),
          {} as { epoch: number },
        ),
      'options.epoch',
    );
  });

  it('corrects missing labels only from changeEpoch on', () => {
    // a confident negative (σ(5) > 0.6) is flipped to positive at epoch >= 1, lowering its loss
    const z = tf.tensor2d([[5, -2]]);
    const y = tf.tensor2d([[0, 1]]);
    expect(scalar(splcLoss(z, y, { epoch: 1 }))).toBeLessThan(scalar(splcLoss(z, y, { epoch: 0 })));
  });
});
