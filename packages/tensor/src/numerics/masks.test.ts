import { gatherByOneHot, maskTargetLogits, oneHotFloat, stopGradient, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

describe('oneHotFloat / gatherByOneHot', () => {
  it('gathers x[n, y_n] as [N, 1] and routes the gradient only to the label column', () => {
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const mask = oneHotFloat(tf.tensor1d([2, 0], 'int32'), 3);
    expect(mask.dtype).toBe('float32');
    const g = gatherByOneHot(x, mask);
    expect(g.shape).toEqual([2, 1]);
    expect(Array.from(g.dataSync())).toEqual([3, 4]);
    const grad = tf.grad((a: tf.Tensor) => tf.sum(gatherByOneHot(a as tf.Tensor2D, mask)))(x);
    expect(Array.from(grad.dataSync())).toEqual([0, 0, 1, 1, 0, 0]);
    tf.dispose([x, mask, g, grad]);
  });
});

describe('maskTargetLogits', () => {
  it('gives the renormalised non-target softmax with an exact 0 at the target and finite logs', () => {
    const z = tf.tensor2d([[2, 0, Math.log(3)]]);
    const mask = oneHotFloat(tf.tensor1d([0], 'int32'), 3);
    const shifted = maskTargetLogits(z, mask);
    const p = tf.softmax(shifted).dataSync();
    expect(p[0]).toBe(0);
    expect(p[1]).toBeCloseTo(0.25, 6);
    expect(p[2]).toBeCloseTo(0.75, 6);
    const logp = tf.logSoftmax(shifted).dataSync();
    expect(Number.isFinite(logp[0])).toBe(true);
    expect(logp[0]).toBeLessThan(-990);
    tf.dispose([z, mask, shifted]);
  });
});

describe('stopGradient', () => {
  it('passes values, blocks the gradient, and cuts ops without gradients (TopK) out of the tape', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const f = (a: tf.Tensor) => tf.sum(tf.mul(stopGradient(tf.square(a)), a));
    expect(f(x).dataSync()[0]).toBe(1 + 8 + 27);
    // d/dx Σ sg(x²)·x = x² (the x² factor is constant).
    expect(Array.from(tf.grad(f)(x).dataSync())).toEqual([1, 4, 9]);
    const throughTopK = (a: tf.Tensor) => tf.mul(stopGradient(tf.sum(tf.topk(a, 2).values)), tf.sum(a));
    expect(Array.from(tf.grad(throughTopK)(x).dataSync())).toEqual([5, 5, 5]);
    x.dispose();
  });

  it('does not leak', async () => {
    const { assertNoTensorLeak } = await import('@distillery/tensor');
    const x = tf.tensor1d([1, 2, 3]);
    await assertNoTensorLeak(
      () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(stopGradient(a), a)))(x),
      20,
      'stopGradient',
    );
    x.dispose();
  });
});
