import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '@distillery/tensor';
import { expect } from 'vitest';

const fixtures = path.resolve(__dirname, 'fixtures');

export function fixtureJson<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as T;
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(fixtures, name)));
}

/**
 * |actual − expected| ≤ tol · max(|expected|, floor), floor = 1e-2 · max|expected| (so entries near zero are
 * compared at the scale of the tensor). Reports the worst entry.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label = ''): number {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
  const floor = Math.max(1e-2 * maxAbs, 1e-12);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor);
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  expect(
    worst,
    `${label}: worst relative error ${worst} at ${worstAt} (${actual[worstAt]} vs ${expected[worstAt]})`,
  ).toBeLessThanOrEqual(tol);
  return worst;
}

/** Mean cross-entropy of integer labels, written out (PyTorch F.cross_entropy). */
export function crossEntropy(logits: tf.Tensor2D, labels: number[]): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
  });
}

/** A tiny SGD step for tests: v ← v − lr·g. */
export function sgdStep(grads: Record<string, tf.Tensor>, vars: Record<string, tf.Variable>, lr: number): void {
  tf.tidy(() => {
    for (const [name, g] of Object.entries(grads)) vars[name]!.assign(tf.sub(vars[name]!, tf.mul(g, lr)));
  });
}
