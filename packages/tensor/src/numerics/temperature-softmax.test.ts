import { DistilleryError, logSoftmaxWithTemperature, softmaxWithTemperature, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

describe('softmaxWithTemperature', () => {
  it('divides the logits by T before the softmax (hand-computed)', () => {
    const p = softmaxWithTemperature(tf.tensor2d([[0, Math.log(3) * 2]]), 2);
    // softmax([0, ln 3]) = [1/4, 3/4]
    const values = p.dataSync();
    expect(values[0]).toBeCloseTo(0.25, 6);
    expect(values[1]).toBeCloseTo(0.75, 6);
    p.dispose();
  });

  it('logSoftmax stays finite at ±1e4 where log(softmax) would give -Infinity', () => {
    const ls = logSoftmaxWithTemperature(tf.tensor2d([[1e4, -1e4, 0]]), 1);
    const values = Array.from(ls.dataSync());
    expect(values[0]).toBeCloseTo(0, 5);
    expect(values[1]).toBeCloseTo(-2e4, 0);
    expect(values[2]).toBeCloseTo(-1e4, 0);
    ls.dispose();
  });

  it('rejects a non-positive temperature by name', () => {
    const z = tf.tensor2d([[1, 2]]);
    expect(() => softmaxWithTemperature(z, 0)).toThrowError(DistilleryError);
    expect(() => softmaxWithTemperature(z, 0)).toThrowError(/temperature/);
    z.dispose();
  });
});
