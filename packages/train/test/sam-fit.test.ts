// SAM inside fit, against a two-pass reference computed by hand; the non-finite loss check before any update.
import type { Sampler } from '@distillery/samplers';
import { assertNoTensorLeak, DistilleryError, Rng, randomNormal, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { fit, type StepContext } from '../src/loop/fit';
import { SAM } from '../src/optim/sam';
import { SGD } from '../src/optim/sgd';

const N = 12;
const D = 5;
const C = 3;
const RHO = 0.3;
const LR = 0.5;
const SEED = 42;
let uid = 0;

/** Every sample in order, every epoch. */
const sequentialSampler = (n: number): Sampler => ({
  length: n,
  indices: () => Int32Array.from({ length: n }, (_, i) => i),
});

function data() {
  const rng = new Rng(9);
  const x = Array.from({ length: N * D }, () => rng.normal());
  const labels = Array.from({ length: N }, (_, i) => i % C);
  return { x, labels };
}

/**
 * A model with a BatchNorm-like buffer: `running` moves towards the batch mean of the logits (which depend on the
 * weights) on every forward, and a counter counts the forwards. The loss adds Gaussian noise drawn from `rng` to the
 * inputs: random augmentation inside the loss, as the deit-lt teacher's random crops.
 */
function model(w0: number[]) {
  const id = uid++;
  const w = tf.variable(tf.tensor2d(w0, [D, C]), true, `samfit_w_${id}`);
  const running = tf.variable(tf.zeros([C]), false, `samfit_running_${id}`);
  const counters = new Map([['bn.num_batches_tracked', 0]]);
  const forward = (x: tf.Tensor2D, rng: Rng) =>
    tf.tidy(() => {
      const noisy = tf.add(x, randomNormal(x.shape, rng, { std: 0.5 }));
      const logits = tf.matMul(noisy, w);
      running.assign(tf.add(tf.mul(running, 0.9), tf.mul(tf.mean(logits, 0), 0.1)));
      counters.set('bn.num_batches_tracked', counters.get('bn.num_batches_tracked')! + 1);
      return logits;
    });
  return { w, running, counters, forward };
}

const ce = (logits: tf.Tensor, labels: number[]) =>
  tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, C), tf.logSoftmax(logits)), 1))) as tf.Scalar;

describe('SAM in fit', () => {
  it('one step equals the two-pass reference: same random draws in both passes, one BatchNorm update at w', async () => {
    const { x, labels } = data();
    const init = new Rng(3);
    const w0 = Array.from({ length: D * C }, () => init.normal(0, 0.5));

    // Reference by hand: the noise fit's generator (seed SEED) draws first, used by both passes.
    const noise = randomNormal([N, D], new Rng(SEED), { std: 0.5 });
    const xs = tf.tensor2d(x, [N, D]);
    const noisy = tf.add(xs, noise);
    const lossAt = (w: tf.Tensor) => ce(tf.matMul(noisy, w), labels);
    const W0 = tf.tensor2d(w0, [D, C]);
    const g1 = tf.grad(lossAt)(W0);
    const eps = tf.mul(g1, RHO / tf.norm(g1).dataSync()[0]!);
    const g2 = tf.grad(lossAt)(tf.add(W0, eps));
    const expectedW = Array.from(tf.sub(W0, tf.mul(g2, LR)).dataSync());
    const expectedRunning = Array.from(tf.mul(tf.mean(tf.matMul(noisy, W0), 0), 0.1).dataSync());
    tf.dispose([noise, xs, noisy, W0, g1, eps, g2]);

    const m = model(w0);
    const optimizer = new SGD([m.w], { lr: LR });
    await fit({
      params: [m.w],
      buffers: { variables: [m.running], counters: m.counters },
      data: {
        batch: (idx: Int32Array) => ({
          x: tf.tidy(() => tf.gather(tf.tensor2d(x, [N, D]), Array.from(idx))) as tf.Tensor2D,
        }),
      },
      sampler: sequentialSampler(N),
      batchSize: N,
      epochs: 1,
      optimizer,
      samRho: RHO,
      seed: SEED,
      progress: 'none',
      loss: (batch: { x: tf.Tensor2D }, ctx: StepContext) => tf.tidy(() => ce(m.forward(batch.x, ctx.rng), labels)),
    });
    const got = Array.from(m.w.dataSync());
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expectedW[i]!, 5);
    const running = Array.from(m.running.dataSync());
    for (let i = 0; i < C; i++) expect(running[i]).toBeCloseTo(expectedRunning[i]!, 5);
    expect(m.counters.get('bn.num_batches_tracked')).toBe(1);
    optimizer.dispose();
    tf.dispose([m.w, m.running]);
  });

  it('SAM on its own: the rng and buffers options give the same step, and the generator ends where pass 1 left it', () => {
    const { x, labels } = data();
    const w0 = Array.from({ length: D * C }, (_, i) => Math.sin(i));
    const a = model(w0);
    const b = model(w0);
    const xs = tf.tensor2d(x, [N, D]);
    const rngA = new Rng(5);
    const rngB = new Rng(5);
    const optA = new SGD([a.w], { lr: LR });
    const optB = new SGD([b.w], { lr: LR });
    const samA = new SAM(optA, { rho: RHO, rng: rngA, buffers: { variables: [a.running], counters: a.counters } });
    // B: the same step done by hand with plain SAM, rewinding the generator and the buffer itself.
    const samB = new SAM(optB, { rho: RHO });
    samA.step(() => ce(a.forward(xs, rngA), labels));
    const start = rngB.state();
    let calls = 0;
    let afterFirst = start;
    let savedRunning: tf.Tensor | null = null;
    samB.step(() => {
      if (calls++ === 0) {
        const out = ce(b.forward(xs, rngB), labels);
        afterFirst = rngB.state();
        return out;
      }
      savedRunning = tf.keep(tf.clone(b.running));
      rngB.setState(start);
      return ce(b.forward(xs, rngB), labels);
    });
    // Undo B's second BatchNorm update: the buffer as it was between the passes.
    b.running.assign(savedRunning!);
    expect(Array.from(a.w.dataSync())).toEqual(Array.from(b.w.dataSync()));
    expect(Array.from(a.running.dataSync())).toEqual(Array.from(b.running.dataSync()));
    expect(rngA.state()).toEqual(afterFirst);
    expect(a.counters.get('bn.num_batches_tracked')).toBe(1);
    tf.dispose([xs, savedRunning!, a.w, a.running, b.w, b.running]);
    optA.dispose();
    optB.dispose();
  });

  it('an epoch of SAM with buffers and rng leaks no tensors', async () => {
    const { x, labels } = data();
    const m = model(Array.from({ length: D * C }, (_, i) => Math.cos(i)));
    const optimizer = new SGD([m.w], { lr: 0.1, momentum: 0.9 });
    await assertNoTensorLeak(
      () =>
        fit({
          params: [m.w],
          buffers: { variables: [m.running], counters: m.counters },
          data: {
            batch: (idx: Int32Array) => ({
              x: tf.tidy(() => tf.gather(tf.tensor2d(x, [N, D]), Array.from(idx))) as tf.Tensor2D,
            }),
          },
          sampler: sequentialSampler(N),
          batchSize: 4,
          epochs: 2,
          optimizer,
          samRho: RHO,
          clipGradNorm: 1,
          progress: 'none',
          loss: (batch: { x: tf.Tensor2D }, ctx: StepContext) =>
            tf.tidy(() => ce(m.forward(batch.x, ctx.rng), labels.slice(0, batch.x.shape[0]))),
        }),
      // the momentum slot is created by the first step
      1,
      'fit with SAM',
    );
    optimizer.dispose();
    tf.dispose([m.w, m.running]);
  });
});

describe('a non-finite loss stops fit before any update', () => {
  for (const samRho of [undefined, 0.05]) {
    it(`params, buffers and optimizer state are unchanged after the throw${samRho ? ' (SAM)' : ''}`, async () => {
      const { x, labels } = data();
      const w0 = Array.from({ length: D * C }, (_, i) => 0.1 * i);
      const m = model(w0);
      const optimizer = new SGD([m.w], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
      let batches = 0;
      const before: { w: number[]; running: number[] } = { w: [], running: [] };
      const run = fit({
        params: [m.w],
        buffers: { variables: [m.running], counters: m.counters },
        data: {
          batch: (idx: Int32Array) => ({
            x: tf.tidy(() => tf.gather(tf.tensor2d(x, [N, D]), Array.from(idx))) as tf.Tensor2D,
          }),
        },
        sampler: sequentialSampler(N),
        batchSize: 4,
        epochs: 1,
        optimizer,
        samRho,
        progress: 'none',
        onBatchEnd: () => {
          before.w = Array.from(m.w.dataSync());
          before.running = Array.from(m.running.dataSync());
        },
        loss: (batch: { x: tf.Tensor2D }, ctx: StepContext) =>
          tf.tidy(() => {
            const loss = ce(m.forward(batch.x, ctx.rng), labels.slice(0, 4));
            // The second batch diverges.
            return (batches++ >= (samRho ? 2 : 1) ? tf.mul(loss, Number.NaN) : loss) as tf.Scalar;
          }),
      });
      await expect(run).rejects.toThrowError(/loss: expected a finite training loss, got NaN at epoch 0, batch 1/);
      await expect(run).rejects.toBeInstanceOf(DistilleryError);
      expect(Array.from(m.w.dataSync())).toEqual(before.w);
      expect(Array.from(m.running.dataSync())).toEqual(before.running);
      expect(before.w.every(Number.isFinite)).toBe(true);
      expect(optimizer.stepCount).toBe(1);
      expect(m.counters.get('bn.num_batches_tracked')).toBe(1);
      optimizer.dispose();
      tf.dispose([m.w, m.running]);
    });
  }
});
