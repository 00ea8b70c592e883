import path from 'node:path';
import { tf } from '@distillery/tensor';
import { fixturesIn } from '@distillery/test-support';

// One loader for the vit fixtures (produced by tools/reference/vit/).
const fixtures = fixturesIn(path.resolve(__dirname, 'fixtures'));
export const fixtureJson = fixtures.json;
export const fixtureBytes = fixtures.bytes;

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
