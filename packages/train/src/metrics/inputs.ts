import { checkNumber, describeValue, invalid, tf } from '@distillery/tensor';

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

/**
 * A score matrix [N, C] from nested arrays or a rank-2 tensor, with every entry a finite number: the scores of a
 * diverged model (NaN, ±Infinity) are an error, never a ranking (NaN compares false both ways and would rank the
 * label first).
 */
export function toMatrix(x: number[][] | tf.Tensor, argument: string): number[][] {
  let m: number[][];
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) throw invalid('INVALID_RANK', argument, 'a rank-2 [N, C] tensor', `rank ${x.rank}`);
    if (x.shape[0] === 0 || x.shape[1] === 0) {
      throw invalid('EMPTY_INPUT', argument, 'an [N, C] matrix', `shape [${x.shape.join(', ')}]`);
    }
    m = x.arraySync() as number[][];
  } else {
    if (!Array.isArray(x) || x.length === 0) {
      throw invalid('EMPTY_INPUT', argument, 'an [N, C] matrix', describeValue(x));
    }
    const C = Array.isArray(x[0]) ? x[0].length : 0;
    if (C === 0) throw invalid('EMPTY_INPUT', `${argument}[0]`, 'a non-empty row of scores', describeValue(x[0]));
    x.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== C) {
        throw invalid('SHAPE_MISMATCH', `${argument}[${i}]`, `${C} columns`, describeValue(row));
      }
    });
    m = x;
  }
  m.forEach((row, i) => {
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw invalid('NON_FINITE', `${argument}[${i}][${j}]`, 'a finite score', describeValue(v));
      }
    });
  });
  return m;
}

/** Finite numbers from an array-like (a score vector). */
export function toScores(x: ArrayLike<number>, argument: string): number[] {
  if (x === null || typeof x !== 'object' || typeof x.length !== 'number') {
    throw invalid('INVALID_ARGUMENT', argument, 'an array of scores', describeValue(x));
  }
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw invalid('NON_FINITE', `${argument}[${i}]`, 'a finite score', describeValue(v));
    }
    out.push(v);
  }
  return out;
}

/**
 * The most classes a metric that builds a C×C matrix accepts (about 10⁸ entries): far above any real label set
 * (iNaturalist 2018 has 8,142 classes) and far below what a single corrupt label (say 4e9) would allocate.
 */
export const MAX_CLASSES = 10_000;

/**
 * The class count C of a C×C metric: `numClasses`, or the largest label + 1. Every label must be below it, and C at
 * most MAX_CLASSES (a huge label names the label, instead of allocating until the process dies).
 */
export function classCountOf(a: number[], b: number[], numClasses: number | undefined): number {
  if (numClasses !== undefined) {
    checkNumber(numClasses, 'numClasses', { min: 1, max: MAX_CLASSES, integer: true });
  }
  const limit = numClasses ?? MAX_CLASSES;
  for (const [name, labels] of [
    ['yTrue', a],
    ['yPred', b],
  ] as const) {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i]! >= limit) {
        throw invalid(
          'OUT_OF_RANGE',
          `${name}[${i}]`,
          numClasses !== undefined
            ? `a label < numClasses = ${numClasses}`
            : `a label < ${MAX_CLASSES} (pass numClasses for a label set that large; at most ${MAX_CLASSES})`,
          String(labels[i]),
        );
      }
    }
  }
  return numClasses ?? maxLabel(a, b) + 1;
}

/** Largest value of label arrays (a loop: spreading a million labels into Math.max overflows the stack). */
export function maxLabel(...arrays: readonly number[][]): number {
  let m = -1;
  for (const a of arrays) for (const v of a) if (v > m) m = v;
  return m;
}
