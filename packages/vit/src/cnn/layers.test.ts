import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { expectClose, expectDistilleryError } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { ParamStore } from '../core/module';
import { BatchNorm2d } from './layers';

/** Per-channel mean, biased and unbiased variance of NHWC values, in float64. */
function channelStats(values: ArrayLike<number>, c: number) {
  const n = values.length / c;
  const mean = new Array<number>(c).fill(0);
  const sq = new Array<number>(c).fill(0);
  for (let i = 0; i < values.length; i++) mean[i % c] = (mean[i % c] as number) + (values[i] as number) / n;
  for (let i = 0; i < values.length; i++)
    sq[i % c] = (sq[i % c] as number) + ((values[i] as number) - (mean[i % c] as number)) ** 2;
  return { mean, biased: sq.map((s) => s / n), unbiased: sq.map((s) => s / (n - 1)) };
}

describe('BatchNorm2d in training mode', () => {
  it('normalises with the batch statistics and updates the running buffers as PyTorch (momentum, unbiased var)', () => {
    const store = new ParamStore();
    const bn = new BatchNorm2d(store, 'bn', 3, 1e-5, 0.1);
    bn.gamma.assign(tf.tensor1d([1.5, 0.5, 2]));
    bn.beta.assign(tf.tensor1d([0.1, -0.2, 0.3]));
    const x = tf.add(tf.mul(tf.randomNormal([2, 3, 1, 3], 0, 1, 'float32', 1), 2), 1) as tf.Tensor4D;
    const values = Array.from(x.dataSync());
    const { mean, biased, unbiased } = channelStats(values, 3);
    const y = bn.apply(x, true);
    const gamma = [1.5, 0.5, 2];
    const beta = [0.1, -0.2, 0.3];
    const expected = values.map(
      (v, i) =>
        ((v - (mean[i % 3] as number)) / Math.sqrt((biased[i % 3] as number) + 1e-5)) * (gamma[i % 3] as number) +
        (beta[i % 3] as number),
    );
    expectClose(y.dataSync(), expected, 1e-5, 1e-6);
    expectClose(
      bn.runningMean.dataSync(),
      mean.map((m) => 0.1 * m),
      1e-5,
      1e-7,
    );
    expectClose(
      bn.runningVar.dataSync(),
      unbiased.map((v) => 0.9 + 0.1 * v),
      1e-5,
      1e-7,
    );
    expect(store.counters.get('bn.num_batches_tracked')).toBe(1);
    tf.dispose([x, y]);
  });

  it('rejects one value per channel (B·H·W = 1) in training, as PyTorch does; evaluation takes it', () => {
    const store = new ParamStore();
    const bn = new BatchNorm2d(store, 'bn', 4);
    const x = tf.ones([1, 1, 1, 4]) as tf.Tensor4D;
    const error = expectDistilleryError(() => bn.apply(x, true), 'x');
    expect(error.message).toMatch(/more than one value per channel/);
    expect(store.counters.get('bn.num_batches_tracked')).toBe(0);
    expect(Array.from(bn.runningVar.dataSync())).toEqual([1, 1, 1, 1]);
    const y = bn.apply(x, false);
    expect(y.shape).toEqual([1, 1, 1, 4]);
    tf.dispose([x, y]);
  });

  it('a training step through it leaks no tensor', async () => {
    const store = new ParamStore();
    const bn = new BatchNorm2d(store, 'bn', 5);
    const x = tf.randomNormal([3, 2, 2, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
    await assertNoTensorLeak(
      () => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.square(bn.apply(x, true))) as tf.Scalar,
          [bn.gamma, bn.beta],
        );
        tf.dispose([value, ...Object.values(grads)]);
      },
      3,
      'BatchNorm2d training step',
    );
    x.dispose();
  });
});
