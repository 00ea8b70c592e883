import { invalid } from '@distillery/tensor';
import * as tf from '@tensorflow/tfjs-core';

/** Integer labels from an array or a rank-1 tensor. */
export function toLabels(x: ArrayLike<number> | tf.Tensor, argument: string): number[] {
  const values = x instanceof tf.Tensor ? Array.from(x.dataSync()) : x;
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw invalid('INVALID_ARGUMENT', argument, 'an array of integer labels', String(x));
  }
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v) || v < 0)
      throw invalid('OUT_OF_RANGE', `${argument}[${i}]`, 'a non-negative integer', String(v));
    out.push(v);
  }
  return out;
}

/** Two label arrays of the same, non-zero length. */
export function pairLabels(
  yTrue: ArrayLike<number> | tf.Tensor,
  yPred: ArrayLike<number> | tf.Tensor,
): [number[], number[]] {
  const a = toLabels(yTrue, 'yTrue');
  const b = toLabels(yPred, 'yPred');
  if (a.length === 0) throw invalid('EMPTY_INPUT', 'yTrue', 'at least one sample', 'an empty array');
  if (a.length !== b.length) throw invalid('SHAPE_MISMATCH', 'yPred', `${a.length} labels`, String(b.length));
  return [a, b];
}

/** A score matrix [N, C] from nested arrays or a rank-2 tensor. */
export function toMatrix(x: number[][] | tf.Tensor, argument: string): number[][] {
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) throw invalid('INVALID_RANK', argument, 'a rank-2 [N, C] tensor', `rank ${x.rank}`);
    return x.arraySync() as number[][];
  }
  if (!Array.isArray(x) || x.length === 0) throw invalid('EMPTY_INPUT', argument, 'an [N, C] matrix', String(x));
  const C = x[0]!.length;
  x.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== C) {
      throw invalid('SHAPE_MISMATCH', `${argument}[${i}]`, `${C} columns`, String(row?.length));
    }
  });
  return x;
}

/** Largest value of label arrays (a loop: spreading a million labels into Math.max overflows the stack). */
export function maxLabel(...arrays: readonly number[][]): number {
  let m = -1;
  for (const a of arrays) for (const v of a) if (v > m) m = v;
  return m;
}
