import { DistilleryError, klDivergence, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

// p = [0.5, 0.5, 0], q = [0.25, 0.25, 0.5]: KL = 0.5·ln 2 + 0.5·ln 2 + 0 = ln 2 per row.
const p = [
  [0.5, 0.5, 0],
  [1, 0, 0],
];
const q = [
  [0.25, 0.25, 0.5],
  [0.5, 0.25, 0.25],
];
const expectedRows = [Math.log(2), Math.log(2)];

describe('klDivergence', () => {
  it('matches hand-computed values for every reduction, with 0·log 0 = 0', () => {
    const target = tf.tensor2d(p);
    const logQ = tf.log(tf.tensor2d(q));
    const sum = expectedRows[0]! + expectedRows[1]!;
    expect(klDivergence(target, logQ, { reduction: 'sum' }).dataSync()[0]).toBeCloseTo(sum, 6);
    expect(klDivergence(target, logQ).dataSync()[0]).toBeCloseTo(sum / 2, 6); // batchmean
    expect(klDivergence(target, logQ, { reduction: 'mean' }).dataSync()[0]).toBeCloseTo(sum / 6, 6);
    const none = klDivergence(target, logQ, { reduction: 'none' });
    expect(none.shape).toEqual([2, 3]);
    expect(none.dataSync()[2]).toBe(0);
    tf.dispose([target, logQ, none]);
  });

  it('has a finite gradient where the target is exactly zero', () => {
    const target = tf.tensor2d(p);
    const logQ = tf.log(tf.tensor2d(q));
    const [gp, gq] = tf.grads((a: tf.Tensor, b: tf.Tensor) => klDivergence(a, b, { reduction: 'sum' }))([target, logQ]);
    // d/dq_log = -p; d/dp = log p + 1 - log q (finite at p = 0 by construction: log 1 + 1 - log q).
    expect(Array.from(gq!.dataSync(), (v) => v + 0)).toEqual(p.flat().map((v) => (v === 0 ? 0 : -v)));
    expect(Array.from(gp!.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([target, logQ, gp!, gq!]);
  });

  it('names the argument on a shape mismatch and a bad reduction', () => {
    const a = tf.ones([2, 3]);
    const b = tf.ones([2, 4]);
    expect(() => klDivergence(a, b)).toThrowError(
      /logProbs: expected the same shape as target \[2, 3\], got shape \[2, 4\]/,
    );
    expect(() => klDivergence(a, a, { reduction: 'avg' as 'sum' })).toThrowError(DistilleryError);
    tf.dispose([a, b]);
  });
});
