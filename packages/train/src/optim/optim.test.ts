import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { expectClose } from '@distillery/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/optim.json';
import { AdamW } from './adamw';
import { timmNoWeightDecay } from './base';
import { clipGradNorm } from './clip-grad-norm';
import { EMA } from './ema';
import { SAM } from './sam';
import { SGD } from './sgd';
import type { Optimizer } from './types';

let uid = 0;
const made: tf.Variable[] = [];
function params(): tf.Variable[] {
  const ps = fixture.init.map((v, i) => tf.variable(tf.tensor(v, fixture.shapes[i]!), true, `p${i}_${uid++}`));
  made.push(...ps);
  return ps;
}
afterEach(() => {
  for (const v of made.splice(0)) v.dispose();
});
const X = () => tf.tensor2d(fixture.X);
const Y = () => tf.tensor2d(fixture.Y);
function lossOf(ps: tf.Variable[], x: tf.Tensor, y: tf.Tensor) {
  return () =>
    tf.mean(tf.square(tf.sub(tf.add(tf.matMul(tf.tanh(tf.matMul(x, ps[0]!)), ps[1]!), ps[2]!), y))) as tf.Scalar;
}

/** Within rel·|expected|, and rel·1e-2 absolute for entries near zero. */
const expectRelClose = (actual: ArrayLike<number>, expected: number[], rel: number, label: string) =>
  expectClose(actual, expected, rel, rel * 1e-2, label);

type CaseOptions = {
  type: string;
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  betas?: number[];
  eps?: number;
  amsgrad?: boolean;
  clip?: number;
  sam?: number;
  adaptive?: boolean;
  timmNoDecay?: boolean;
};

function makeOptimizer(ps: tf.Variable[], o: CaseOptions): Optimizer {
  const noWeightDecay = o.timmNoDecay ? timmNoWeightDecay : undefined;
  const { lr, momentum, dampening, weightDecay, nesterov, betas, eps, amsgrad } = o;
  return o.type === 'sgd'
    ? new SGD(ps, { lr, momentum, dampening, weightDecay, nesterov, noWeightDecay })
    : new AdamW(ps, { lr, betas: betas as [number, number] | undefined, eps, weightDecay, amsgrad, noWeightDecay });
}

describe('optimizers: parity with torch.optim over 6 steps', () => {
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(name, () => {
      const x = X();
      const y = Y();
      const ps = params();
      const o = c.options as CaseOptions;
      const opt = makeOptimizer(ps, o);
      const sam = o.sam !== undefined ? new SAM(opt, { rho: o.sam, adaptive: o.adaptive }) : null;
      const loss = lossOf(ps, x, y);
      for (let s = 0; s < c.losses.length; s++) {
        let value: number;
        if (sam) value = sam.step(loss);
        else {
          const { value: v, grads } = tf.variableGrads(loss, ps);
          value = v.dataSync()[0]!;
          v.dispose();
          if (o.clip !== undefined) {
            const clipped = clipGradNorm(grads, o.clip);
            opt.step(clipped.grads);
            tf.dispose(clipped.grads);
          } else opt.step(grads);
          tf.dispose(grads);
        }
        expectRelClose([value], [c.losses[s]!], 1e-5, `${name} loss@${s}`);
        for (const [i, expected] of c.params[s]!.entries())
          expectRelClose(ps[i]!.dataSync(), expected, 1e-5, `${name} p${i}@${s}`);
      }
      opt.dispose();
      tf.dispose([x, y]);
    });
  }
});

describe('optimizer state', () => {
  it('export/import continues exactly (AdamW), and rejects a state of another model', () => {
    const x = X();
    const y = Y();
    const a = params();
    const b = params();
    const optA = new AdamW(a, { lr: 0.01 });
    const stepWith = (ps: tf.Variable[], opt: Optimizer) => {
      const { value, grads } = tf.variableGrads(lossOf(ps, x, y), ps);
      opt.step(grads);
      tf.dispose([value, ...Object.values(grads)]);
    };
    for (let i = 0; i < 3; i++) stepWith(a, optA);
    // b gets a's weights under its own names: rename the slots via a name map
    for (const [i, p] of b.entries()) p.assign(a[i]!);
    const state = JSON.parse(JSON.stringify(optA.getState()));
    const renamed = Object.fromEntries(
      Object.entries(state.slots as Record<string, Record<string, unknown>>).map(([k, m]) => [
        k,
        Object.fromEntries(Object.entries(m).map(([pn, t]) => [b[a.findIndex((p) => p.name === pn)]!.name, t])),
      ]),
    );
    const optB = new AdamW(b, { lr: 0.01 });
    optB.setState({ ...state, slots: renamed });
    expect(optB.stepCount).toBe(3);
    stepWith(a, optA);
    stepWith(b, optB);
    for (const [i, p] of a.entries()) expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(p.dataSync()));
    // a state whose slot shapes do not match → SHAPE_MISMATCH; other optimizer type → FORMAT
    const bad = { ...state, slots: { expAvg: { [b[0]!.name]: { shape: [2], values: [0, 0] } } } };
    expect(() => optB.setState(bad)).toThrow(DistilleryError);
    expect(() => new SGD(b, { lr: 0.1 }).setState(state)).toThrow(/state.type/);
    optA.dispose();
    optB.dispose();
    tf.dispose([x, y]);
  });

  it('steps do not leak tensors (SGD nesterov, AdamW amsgrad, SAM)', async () => {
    const x = X();
    const y = Y();
    const ps = params();
    const loss = lossOf(ps, x, y);
    for (const opt of [
      new SGD(ps, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
      new AdamW(ps, { amsgrad: true }),
    ]) {
      const stepOnce = () => {
        const { value, grads } = tf.variableGrads(loss, ps);
        opt.step(grads);
        tf.dispose([value, ...Object.values(grads)]);
      };
      stepOnce();
      await assertNoTensorLeak(stepOnce, 3, 'optimizer.step');
      opt.dispose();
    }
    const base = new SGD(ps, { lr: 0.01, momentum: 0.9 });
    const sam = new SAM(base, { rho: 0.1, clip: (g) => clipGradNorm(g, 1).grads });
    sam.step(loss);
    await assertNoTensorLeak(() => void sam.step(loss), 3, 'sam.step');
    base.dispose();
    tf.dispose([x, y]);
  });

  it('rejects bad options', () => {
    const ps = params();
    expect(() => new SGD(ps, { lr: -1 })).toThrow(/options.lr/);
    expect(() => new SGD(ps, { lr: 0.1, nesterov: true })).toThrow(/options.nesterov/);
    expect(() => new AdamW(ps, { betas: [1, 0.9] })).toThrow(/options.betas\[0\]/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/params/);
    const opt = new SGD(ps, { lr: 0.1 });
    expect(() => opt.step({ [ps[0]!.name]: tf.zeros([2]) })).toThrow(/grads/);
  });
});

describe('EMA and clipping', () => {
  it('EMA follows ema ← d·ema + (1 − d)·w and apply/restore swaps weights', async () => {
    const [p] = [tf.variable(tf.tensor1d([1, 2]), true, `ema_${uid++}`)];
    made.push(p!);
    const ema = new EMA([p!], { decay: 0.5 });
    p!.assign(tf.tensor1d([3, 6]));
    ema.update();
    expect(Array.from(ema.weights[0]!.dataSync())).toEqual([2, 4]);
    ema.apply();
    expect(Array.from(p!.dataSync())).toEqual([2, 4]);
    ema.restore();
    expect(Array.from(p!.dataSync())).toEqual([3, 6]);
    const state = ema.getState();
    expect(state.weights[p!.name]!.values).toEqual([2, 4]);
    await assertNoTensorLeak(() => ema.update(), 3, 'ema.update');
    ema.dispose();
  });

  it('clipGradNorm scales by maxNorm/(‖g‖+1e-6) only above maxNorm', () => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) };
    const { grads, totalNorm } = clipGradNorm(g, 1);
    expect(totalNorm).toBeCloseTo(5, 5);
    expect(grads.a!.dataSync()[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    const same = clipGradNorm(g, 10);
    expect(Array.from(same.grads.b!.dataSync())).toEqual([4]);
    expect(() => clipGradNorm(g, 0)).toThrow(/maxNorm/);
    tf.dispose([g, grads, same.grads] as unknown as tf.Tensor[]);
  });
});
