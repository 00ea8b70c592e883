import * as tf from '@tensorflow/tfjs-core';
import { describeValue, formatShape, invalid } from '../errors';
import { readSyncIfResident } from './read';

/** Checks that `x` is a live tf.Tensor; returns it typed. */
export function assertTensor(x: unknown, argument: string): tf.Tensor {
  if (!(x instanceof tf.Tensor)) {
    throw invalid('INVALID_ARGUMENT', argument, 'a tf.Tensor', describeValue(x));
  }
  if (x.isDisposed) {
    throw invalid('INVALID_ARGUMENT', argument, 'a live tf.Tensor', 'a disposed tensor');
  }
  return x;
}

/** Checks rank (and optionally the exact shape; `null` entries match any size). */
export function assertShape(x: unknown, expected: readonly (number | null)[], argument: string): tf.Tensor {
  const t = assertTensor(x, argument);
  const ok = t.rank === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    throw invalid('SHAPE_MISMATCH', argument, `shape ${formatShape(expected)}`, `shape ${formatShape(t.shape)}`);
  }
  return t;
}

export function assertRank(x: unknown, rank: number, argument: string): tf.Tensor {
  const t = assertTensor(x, argument);
  if (t.rank !== rank) {
    throw invalid('INVALID_RANK', argument, `a rank-${rank} tensor`, `rank ${t.rank} (shape ${formatShape(t.shape)})`);
  }
  return t;
}

export function assertSameShape(a: tf.Tensor, b: tf.Tensor, argumentA: string, argumentB: string): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw invalid(
      'SHAPE_MISMATCH',
      argumentB,
      `the same shape as ${argumentA} ${formatShape(a.shape)}`,
      `shape ${formatShape(b.shape)}`,
    );
  }
}

export function assertDtype(x: tf.Tensor, dtypes: readonly tf.DataType[], argument: string): void {
  if (!dtypes.includes(x.dtype)) {
    throw invalid('INVALID_DTYPE', argument, `dtype ${dtypes.join(' or ')}`, `dtype ${x.dtype}`);
  }
}

/** A float32 `[N, C]` logit matrix with N >= 1 and C >= `minClasses`. Returns `[N, C]`. */
export function assertLogits(x: unknown, argument: string, minClasses = 1): [number, number] {
  const t = assertRank(x, 2, argument);
  assertDtype(t, ['float32'], argument);
  const [n, c] = t.shape as [number, number];
  if (n === 0) throw invalid('EMPTY_INPUT', argument, 'at least one row (N >= 1)', `shape ${formatShape(t.shape)}`);
  if (c < minClasses) {
    throw invalid('OUT_OF_RANGE', argument, `at least ${minClasses} classes (C >= ${minClasses})`, `C = ${c}`);
  }
  return [n, c];
}

/**
 * Integer class labels `[N]` in `[0, numClasses)`. int32 labels are checked by value; float labels must hold
 * integers. Values are checked wherever they can be read without a GPU round trip (always on cpu, wasm and
 * tfjs-node; on WebGPU while the labels are still CPU-resident, which is the case for labels built from arrays).
 */
export function assertLabels(labels: unknown, numClasses: number, argument: string, batchSize?: number): tf.Tensor1D {
  const t = assertRank(labels, 1, argument);
  assertDtype(t, ['int32', 'float32'], argument);
  if (batchSize !== undefined && t.shape[0] !== batchSize) {
    throw invalid(
      'SHAPE_MISMATCH',
      argument,
      `shape [${batchSize}] (one label per row)`,
      `shape ${formatShape(t.shape)}`,
    );
  }
  const values = readSyncIfResident(t);
  if (values) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!Number.isInteger(v)) {
        throw invalid('NOT_INTEGER', argument, 'integer class indices', `${v} at index ${i}`);
      }
      if (v < 0 || v >= numClasses) {
        throw invalid('OUT_OF_RANGE', argument, `labels in [0, ${numClasses})`, `${v} at index ${i}`);
      }
    }
  }
  return t as tf.Tensor1D;
}

/**
 * Opt-in check that every value is finite (it reads the data back, so it is not free). Throws a NON_FINITE
 * error naming the argument and the first bad index.
 */
export function assertFinite(x: tf.Tensor, argument: string): void {
  const values = x.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw invalid('NON_FINITE', argument, 'finite values', `${v} at flat index ${i}`);
    }
  }
}
