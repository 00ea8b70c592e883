import * as tf from '@tensorflow/tfjs-core';
import { describeValue, invalid } from '../errors';

/**
 * Runs `fn` in inference mode: PyTorch's `with torch.no_grad():`. The ops it runs are not recorded on the gradient
 * tape, even inside `tf.grad` / `tf.variableGrads` (a teacher's forward pass inside a student's loss): no tape node,
 * and none of the inputs and outputs that a recorded op keeps alive for the backward pass. Its results are
 * constants to any enclosing gradient, as with `stopGradient`, which only cuts the backward pass while the forward
 * is still recorded and its saved tensors are held until the gradient is taken.
 *
 * How: tfjs-core's engine records an op only when `isTapeOn()`, i.e. `state.gradientDepth > 0 &&
 * state.kernelDepth === 0` (engine.ts, `runKernelFunc`); the engine raises `kernelDepth` while a kernel runs so that
 * the ops a kernel composes are not recorded. `noGrad` raises it for the duration of `fn` the same way and restores
 * it in a `finally`, so nested calls and exceptions leave the engine as they found it. Gradient computations
 * started inside `fn` see no recorded ops either (like `torch.no_grad`).
 *
 * `fn` must be synchronous (a Promise would run its work after the mode ended): a Promise result throws.
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw invalid('INVALID_ARGUMENT', 'fn', 'a synchronous function', describeValue(fn));
  const state = tf.engine().state;
  state.kernelDepth++;
  let result: T;
  try {
    result = fn();
  } finally {
    state.kernelDepth--;
  }
  if (result instanceof Promise || (result as { then?: unknown } | null)?.then instanceof Function) {
    throw invalid(
      'INVALID_ARGUMENT',
      'fn',
      'a synchronous function (noGrad cannot cover asynchronous work)',
      'a Promise',
    );
  }
  return result;
}
