import * as tf from '@tensorflow/tfjs-core';

/**
 * Ops whose output is piecewise constant in their inputs (comparisons, logical ops, rounding-free predicates).
 * tfjs registers no gradient for them, so a mask built inside `tf.grad` throws; their true derivative is zero
 * almost everywhere, which is what PyTorch's autograd yields when a mask is multiplied into a loss.
 */
export const ZERO_GRADIENT_KERNELS = [
  'Equal',
  'NotEqual',
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'LogicalAnd',
  'LogicalOr',
  'LogicalNot',
  'LogicalXor',
  'IsNan',
  'IsInf',
  'IsFinite',
] as const;

/** Registers a zero gradient for each kernel in ZERO_GRADIENT_KERNELS that has none. Idempotent. */
export function registerZeroGradients(): string[] {
  const added: string[] = [];
  for (const kernelName of ZERO_GRADIENT_KERNELS) {
    if (tf.getGradient(kernelName) != null) continue;
    const names = kernelName === 'LogicalNot' || kernelName.startsWith('Is') ? ['x'] : ['a', 'b'];
    tf.registerGradient({
      kernelName,
      inputsToSave: names,
      // The saved inputs give each gradient its input's (pre-broadcast) shape.
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const grads: Record<string, () => tf.Tensor> = {};
        names.forEach((name, i) => {
          grads[name] = () => tf.zeros((saved[i] as tf.Tensor).shape, 'float32');
        });
        return grads;
      },
    });
    added.push(kernelName);
  }
  return added;
}
