// Shared by the loop tests and the child process they kill mid-epoch: a small softmax classifier on Gaussian blobs.
import { instanceBalancedSampler } from '@distillery/samplers';
import { createRng, randomNormal, tf } from '@distillery/tensor';
import type { StepContext } from '../src/loop/fit';
import { AdamW } from '../src/optim/adamw';
import { EMA } from '../src/optim/ema';

export const N = 96;
export const D = 6;
export const C = 4;

let uid = 0;

export function makeSetup() {
  const rng = createRng(123);
  const labels = Int32Array.from({ length: N }, (_, i) => i % C);
  const centres = Array.from({ length: C }, () => Array.from({ length: D }, () => rng.normal(0, 2)));
  const x = Float32Array.from({ length: N * D }, (_, k) => centres[labels[Math.floor(k / D)]!]![k % D]! + rng.normal());
  const id = uid++;
  const params = [
    tf.variable(
      tf.tensor2d(
        Array.from({ length: D * C }, () => rng.normal(0, 0.1)),
        [D, C],
      ),
      true,
      `loopW_${id}_${Date.now()}`,
    ),
    tf.variable(tf.zeros([C]), true, `loopB_${id}_${Date.now()}`),
  ];
  const oneHot = (indices: Int32Array) => {
    const out = new Float32Array(indices.length * C);
    indices.forEach((i, k) => {
      out[k * C + labels[i]!] = 1;
    });
    return out;
  };
  const data = {
    batch(indices: Int32Array) {
      const xs = new Float32Array(indices.length * D);
      indices.forEach((i, k) => {
        xs.set(x.subarray(i * D, (i + 1) * D), k * D);
      });
      return {
        x: tf.tensor2d(xs, [indices.length, D]),
        y: tf.tensor2d(oneHot(indices), [indices.length, C]),
      };
    },
  };
  // The loss draws input noise from the run's Rng, so an exact resume must restore the RNG state too.
  const loss = (batch: { x: tf.Tensor2D; y: tf.Tensor }, ctx: StepContext) => {
    const noise = randomNormal(batch.x.shape, ctx.rng, { std: 0.05 });
    const logits = tf.add(tf.matMul(tf.add(batch.x, noise), params[0]!), params[1]!);
    return tf.neg(tf.mean(tf.sum(tf.mul(batch.y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  };
  const optimizer = new AdamW(params, { lr: 0.05, weightDecay: 0.01 });
  const ema = new EMA(params, { decay: 0.9 });
  const sampler = instanceBalancedSampler(N, { seed: 7 });
  const dispose = () => {
    optimizer.dispose();
    ema.dispose();
    for (const p of params) p.dispose();
  };
  // `dispose` is not enumerable: the tests spread the setup into fit's (strict) options, which has no such key.
  const setup = { params, data, loss, optimizer, ema, sampler } as {
    params: tf.Variable[];
    data: typeof data;
    loss: typeof loss;
    optimizer: AdamW;
    ema: EMA;
    sampler: typeof sampler;
    dispose: () => void;
  };
  Object.defineProperty(setup, 'dispose', { value: dispose, enumerable: false });
  return setup;
}
