import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '../errors';

/** softmax(logits / T) over the last axis. T = 1 is the plain softmax (Hinton et al., arXiv 1503.02531). */
export function softmaxWithTemperature<T extends tf.Tensor>(logits: T, temperature = 1): T {
  checkNumber(temperature, 'temperature', { min: 0, minExclusive: true });
  return tf.tidy(() => tf.softmax(temperature === 1 ? logits : tf.div(logits, temperature))) as T;
}

/** logSoftmax(logits / T) over the last axis, computed stably (never log(softmax)). */
export function logSoftmaxWithTemperature<T extends tf.Tensor>(logits: T, temperature = 1): T {
  checkNumber(temperature, 'temperature', { min: 0, minExclusive: true });
  return tf.tidy(() => tf.logSoftmax(temperature === 1 ? logits : tf.div(logits, temperature))) as T;
}
