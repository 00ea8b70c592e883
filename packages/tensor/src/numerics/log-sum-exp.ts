import * as tf from '@tensorflow/tfjs-core';
import { checkOptions } from '../options';
import { assertTensor } from '../validation';
import { stopGradient } from './stop-gradient';

/**
 * log Σ exp(x) over the last axis (keepDims by default), as m + log Σ exp(x − m) with the row maximum m detached.
 * Value and gradient equal tf.logSumExp's (the expression does not depend on m), but the backward pass skips Max's
 * gradient, which makes tf.logSumExp ~5× slower than a logSoftmax on wasm.
 */
export function logSumExp<T extends tf.Tensor>(x: T, options: { keepDims?: boolean } = {}): T {
  const { keepDims = true } = checkOptions<{ keepDims?: boolean }>(options, { keepDims: [true, false] });
  assertTensor(x, 'x');
  return tf.tidy(() => {
    const m = stopGradient(tf.max(x, -1, true));
    const lse = tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(x, m)), -1, true)));
    return keepDims ? lse : tf.squeeze(lse, [-1]);
  }) as T;
}

/**
 * log σ(x) = −softplus(−x), stable for any x. tfjs 4.22's own `tf.logSigmoid` fails in backward passes (its custom
 * gradient reads an input it never saved), so use this one in differentiated code.
 */
export function logSigmoid<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.neg(tf.softplus(tf.neg(x)))) as T;
}
