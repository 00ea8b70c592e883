import * as tf from '@tensorflow/tfjs-core';

/**
 * A copy of `x` that the tape does not connect to `x`: PyTorch's `x.detach()`. tfjs 4 has no stopGradient; a
 * customGrad with no inputs records a node with nothing upstream, and the copy inside it runs untaped, so the
 * gradient is exactly zero through it and ops behind it that lack gradients (TopK, ArgMax) are never visited.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const detached = tf.customGrad((() => ({
    value: tf.clone(x),
    gradFunc: () => [],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (detached as unknown as () => T)();
}
