import * as tf from '@tensorflow/tfjs-core';

let patched = false;

/** Sums a gradient over the batch axes its input was broadcast along, back to the input's shape. */
function reduceToShape(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (grad.rank === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  return tf.tidy(() => {
    const lead = grad.rank - shape.length;
    let reduced =
      lead > 0
        ? tf.sum(
            grad,
            Array.from({ length: lead }, (_, i) => i),
          )
        : grad;
    const axes = shape.flatMap((d, i) => (d === 1 && reduced.shape[i] !== 1 ? [i] : []));
    if (axes.length) reduced = tf.sum(reduced, axes, true);
    return tf.reshape(reduced, shape);
  });
}

/**
 * tfjs 4.22's BatchMatMul gradient returns the broadcast shape for a broadcast operand (e.g. d/db of
 * [B, H, N, N]·[N, N] comes back [B, H, N, N]) and the tape then rejects it. This wraps it to sum over the broadcast
 * batch axes, as PyTorch's autograd does.
 */
export function registerBroadcastingBatchMatMulGradient(): void {
  const original = tf.getGradient('BatchMatMul');
  if (patched || !original) return;
  patched = true;
  tf.unregisterGradient('BatchMatMul');
  tf.registerGradient({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const grads = original.gradFunc(dy, saved, attrs) as Record<string, () => tf.Tensor>;
      return {
        a: () => reduceToShape((grads.a as () => tf.Tensor)(), a.shape),
        b: () => reduceToShape((grads.b as () => tf.Tensor)(), b.shape),
      };
    },
  });
}
