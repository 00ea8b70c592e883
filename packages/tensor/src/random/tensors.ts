import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '../errors';
import type { Rng } from './rng';

function size(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * checkNumber(d, 'shape', { min: 0, integer: true }), 1);
}

/** A float32 tensor of uniforms in [min, max) drawn from `rng` (the same values on every backend). */
export function randomUniform(shape: number[], rng: Rng, options: { min?: number; max?: number } = {}): tf.Tensor {
  const { min = 0, max = 1 } = options;
  const values = new Float32Array(size(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.uniform(min, max);
  return tf.tensor(values, shape, 'float32');
}

/** A float32 tensor of normals drawn from `rng`. */
export function randomNormal(shape: number[], rng: Rng, options: { mean?: number; std?: number } = {}): tf.Tensor {
  const { mean = 0, std = 1 } = options;
  const values = new Float32Array(size(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal(mean, std);
  return tf.tensor(values, shape, 'float32');
}

/**
 * Normals redrawn until they fall in [a, b] (absolute bounds, as timm's `trunc_normal_(std, a=-2, b=2)`; tfjs'
 * truncatedNormal cuts at 2σ instead).
 */
export function randomTruncatedNormal(
  shape: number[],
  rng: Rng,
  options: { mean?: number; std?: number; a?: number; b?: number } = {},
): tf.Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  if (!(a < b)) checkNumber(b, 'options.b', { min: a, minExclusive: true });
  const values = new Float32Array(size(shape));
  for (let i = 0; i < values.length; i++) {
    let v = rng.normal(mean, std);
    while (v < a || v > b) v = rng.normal(mean, std);
    values[i] = v;
  }
  return tf.tensor(values, shape, 'float32');
}

/** A float32 0/1 tensor, 1 with probability p. */
export function randomBernoulli(shape: number[], rng: Rng, p: number): tf.Tensor {
  checkNumber(p, 'p', { min: 0, max: 1 });
  const values = new Float32Array(size(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.uniform() < p ? 1 : 0;
  return tf.tensor(values, shape, 'float32');
}
