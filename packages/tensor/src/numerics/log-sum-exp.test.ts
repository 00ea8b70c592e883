import { logSigmoid, logSumExp, oneHotFloat, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

describe('logSumExp', () => {
  it('equals log Σ exp with the gradient softmax(x), stable at ±1e4', () => {
    const x = tf.tensor2d([
      [0, Math.log(3), 1e4],
      [-1e4, 0, 0],
    ]);
    const lse = logSumExp(x).arraySync() as number[][];
    expect(lse[0]?.[0]).toBeCloseTo(1e4, 2);
    expect(lse[1]?.[0]).toBeCloseTo(Math.log(2), 6);
    expect(logSumExp(x, { keepDims: false }).shape).toEqual([2]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(logSumExp(a)))(x);
    const s = tf.softmax(x);
    expect(Array.from(g.dataSync())).toEqual(Array.from(s.dataSync()));
    tf.dispose([x, g, s]);
  });
});

describe('logSigmoid', () => {
  it('is finite at ±100 and has the gradient σ(−x), where tf.logSigmoid cannot be differentiated', () => {
    const x = tf.tensor1d([-100, 0, 2, 100]);
    const v = Array.from(logSigmoid(x).dataSync());
    expect(v[0]).toBeCloseTo(-100, 4);
    expect(v[1]).toBeCloseTo(Math.log(0.5), 6);
    expect(v[3]).toBeCloseTo(0, 6);
    const g = Array.from(
      tf
        .grad((a: tf.Tensor) => tf.sum(logSigmoid(tf.mul(a, 2))))(x)
        .dataSync(),
    );
    expect(g[1]).toBeCloseTo(1, 6); // 2·σ(0)
    expect(g[2]).toBeCloseTo(2 / (1 + Math.exp(4)), 6);
    x.dispose();
  });
});

describe('oneHotFloat', () => {
  it('handles a single class and rejects zero classes by name', () => {
    const labels = tf.tensor1d([0, 0], 'int32');
    expect(oneHotFloat(labels, 1).arraySync()).toEqual([[1], [1]]);
    expect(() => oneHotFloat(labels, 0)).toThrowError(/numClasses: expected a number >= 1/);
    labels.dispose();
  });
});
