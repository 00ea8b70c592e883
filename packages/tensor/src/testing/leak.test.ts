import { assertNoTensorLeak, DistilleryError, measureTensorGrowth, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

describe('leak check', () => {
  it('reports zero growth for a tidy function whose result is disposed', async () => {
    const x = tf.ones([4, 4]);
    const report = await measureTensorGrowth(() => tf.matMul(x, x), 5);
    expect(report.growth).toBe(0);
    x.dispose();
  });

  it('catches a function that keeps one tensor per call', async () => {
    const kept: tf.Tensor[] = [];
    const leaky = () => {
      kept.push(tf.ones([2]));
    };
    const report = await measureTensorGrowth(leaky, 7);
    expect(report.growth).toBe(7);
    expect(report.perIteration).toBe(1);
    await expect(assertNoTensorLeak(leaky, 3, 'leaky')).rejects.toThrowError(DistilleryError);
    await expect(assertNoTensorLeak(leaky, 3, 'leaky')).rejects.toThrowError(
      /leaky: expected no tensor growth over 3 calls, got \+3/,
    );
    tf.dispose(kept);
  });

  it('never disposes variables a function returns', async () => {
    const v = tf.variable(tf.zeros([2]));
    await measureTensorGrowth(() => v, 2);
    expect(v.isDisposed).toBe(false);
    v.dispose();
  });
});
