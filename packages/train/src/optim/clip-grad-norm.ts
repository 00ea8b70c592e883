import { checkNumber, describeValue, invalid, tf } from '@distillery/tensor';
import type { Gradients } from './types';

/**
 * Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_, norm type 2):
 *
 *     total = ‖(‖g_1‖, …, ‖g_k‖)‖₂;   coef = min(1, maxNorm / (total + 1e-6));   g ← coef·g
 *
 * Returns new gradient tensors (the inputs are not disposed) and the total norm before clipping. The coefficient is
 * computed on the device; only the returned `totalNorm` is read back, synchronously (tensor.dataSync). Code that
 * must not read GPU tensors synchronously (WebGPU in browsers: the training loop) uses `clipGradNormOnDevice`.
 */
export function clipGradNorm(grads: Gradients, maxNorm: number): { grads: Gradients; totalNorm: number } {
  const clipped = clipGradNormOnDevice(grads, maxNorm);
  const totalNorm = clipped.totalNorm.dataSync()[0]!;
  clipped.totalNorm.dispose();
  return { grads: clipped.grads, totalNorm };
}

/**
 * `clipGradNorm` without any read back: the coefficient min(1, maxNorm / (total + 1e-6)) is a tensor op, and the
 * total norm is returned as a scalar tensor (the caller disposes it, or reads it with `await totalNorm.data()`).
 */
export function clipGradNormOnDevice(grads: Gradients, maxNorm: number): { grads: Gradients; totalNorm: tf.Scalar } {
  checkGradients(grads);
  checkNumber(maxNorm, 'maxNorm', { min: 0, minExclusive: true });
  const names = Object.keys(grads);
  const totalNorm = globalNormTensor(grads);
  const coef = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.add(totalNorm, 1e-6))));
  const out: Gradients = {};
  for (const n of names) out[n] = tf.tidy(() => tf.mul(grads[n]!, coef));
  coef.dispose();
  return { grads: out, totalNorm };
}

/** ‖g‖₂ over all gradients jointly, read back synchronously (see `globalNormTensor` for the on-device form). */
export function globalNorm(grads: Gradients): number {
  const norm = globalNormTensor(grads);
  const value = norm.dataSync()[0]!;
  norm.dispose();
  return value;
}

/** Gradients keyed by name: an object whose values are all tensors. */
export function checkGradients(grads: unknown, argument = 'grads'): Gradients {
  if (grads === null || typeof grads !== 'object' || Array.isArray(grads) || grads instanceof tf.Tensor) {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      'gradients keyed by variable name ({ [name]: tf.Tensor })',
      describeValue(grads),
    );
  }
  for (const [name, g] of Object.entries(grads)) {
    if (!(g instanceof tf.Tensor))
      throw invalid('INVALID_ARGUMENT', `${argument}["${name}"]`, 'a tf.Tensor', describeValue(g));
    if (g.isDisposed) throw invalid('INVALID_ARGUMENT', `${argument}["${name}"]`, 'a live tensor', 'a disposed tensor');
  }
  return grads as Gradients;
}

/** ‖g‖₂ over all gradients jointly, as a scalar tensor (0 for no gradients); nothing is read back. */
export function globalNormTensor(grads: Gradients): tf.Scalar {
  checkGradients(grads);
  const names = Object.keys(grads);
  if (names.length === 0) return tf.scalar(0);
  return tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!))))) as tf.Scalar);
}
