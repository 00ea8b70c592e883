import { checkNumber } from '@distillery/tensor';
import * as tf from '@tensorflow/tfjs-core';
import type { Gradients } from './types';

/**
 * Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_, norm type 2):
 *
 *     total = ‖(‖g_1‖, …, ‖g_k‖)‖₂;   coef = min(1, maxNorm / (total + 1e-6));   g ← coef·g
 *
 * Returns new gradient tensors (the inputs are not disposed) and the total norm before clipping.
 */
export function clipGradNorm(grads: Gradients, maxNorm: number): { grads: Gradients; totalNorm: number } {
  checkNumber(maxNorm, 'maxNorm', { min: 0, minExclusive: true });
  const names = Object.keys(grads);
  const totalNorm =
    names.length === 0
      ? 0
      : tf.tidy(() => {
          const sq = names.map((n) => tf.sum(tf.square(grads[n]!)));
          return tf.sqrt(tf.addN(sq)).dataSync()[0]!;
        });
  const coef = Math.min(1, maxNorm / (totalNorm + 1e-6));
  const out: Gradients = {};
  for (const n of names) out[n] = tf.tidy(() => tf.mul(grads[n]!, coef));
  return { grads: out, totalNorm };
}

/** ‖g‖₂ over all gradients jointly. */
export function globalNorm(grads: Gradients): number {
  const names = Object.keys(grads);
  if (names.length === 0) return 0;
  return tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!))))).dataSync()[0]!);
}
