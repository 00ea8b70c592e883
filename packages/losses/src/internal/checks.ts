import { assertSoftTargets } from '@distillery/soft-labels';
import {
  assertFinite,
  assertLabels,
  assertLogits,
  assertRank,
  assertSameShape,
  checkNumber,
  describeValue,
  invalid,
  tf,
} from '@distillery/tensor';

/** Per-class values: a number array, a typed array or a rank-1 tensor `[C]`. */
export type ClassVector = ArrayLike<number> | tf.Tensor;

/** A float32 `[N, C]` logit matrix (N >= 1, C >= minClasses). */
export function checkSingleLogits(logits: unknown, argument = 'logits', minClasses = 1): [number, number] {
  return assertLogits(logits, argument, minClasses);
}

/** Options every loss accepts. */
export interface CheckFiniteOption {
  /** Opt-in: throw a NON_FINITE DistilleryError if an input holds NaN or ±Infinity (reads the data back). */
  checkFinite?: boolean;
}

/** The spec entry of CheckFiniteOption, spread into every loss's checkOptions spec. */
export const FINITE_SPEC = { checkFinite: true } as const;

export function finiteCheck(checkFinite: boolean | undefined, tensors: Record<string, tf.Tensor>): void {
  if (!checkFinite) return;
  for (const [name, t] of Object.entries(tensors)) assertFinite(t, name);
}

/** `student` and `teacher` float32 `[N, C]` of the same shape, C >= minClasses. */
export function checkLogitPair(
  student: unknown,
  teacher: unknown,
  minClasses = 1,
  names: [string, string] = ['student', 'teacher'],
): [number, number] {
  const [n, c] = assertLogits(student, names[0], minClasses);
  assertLogits(teacher, names[1], minClasses);
  assertSameShape(student as tf.Tensor, teacher as tf.Tensor, names[0], names[1]);
  return [n, c];
}

/** int32 labels `[N]` in [0, C). */
export function checkHardLabels(labels: unknown, numClasses: number, batchSize: number, argument = 'labels'): void {
  assertLabels(labels, numClasses, argument, batchSize);
}

/** int32 labels `[N]`, or float32 soft targets `[N, C]` (finite, non-negative). Returns true for soft targets. */
export function checkLabelsOrSoftTargets(labels: unknown, numClasses: number, batchSize: number): boolean {
  if (labels instanceof tf.Tensor && labels.rank === 2) {
    assertSoftTargets(labels, 'labels', [batchSize, numClasses]);
    return true;
  }
  assertRank(labels, 1, 'labels');
  assertLabels(labels, numClasses, 'labels', batchSize);
  return false;
}

/**
 * Per-class values `[C]` (class counts, priors, weights) from a tensor or an array. Checked positive (or
 * non-negative when `allowZero`), finite; returned as a plain array.
 */
export function checkClassVector(
  values: unknown,
  numClasses: number | undefined,
  argument: string,
  { allowZero = false }: { allowZero?: boolean } = {},
): number[] {
  let array: number[];
  if (values instanceof tf.Tensor) {
    assertRank(values, 1, argument);
    array = Array.from(values.dataSync());
  } else if (Array.isArray(values) || ArrayBuffer.isView(values)) {
    array = Array.from(values as ArrayLike<number>);
  } else {
    throw invalid('INVALID_ARGUMENT', argument, 'a number array or a rank-1 tensor', describeValue(values));
  }
  if (numClasses !== undefined && array.length !== numClasses) {
    throw invalid('SHAPE_MISMATCH', argument, `${numClasses} entries (one per class)`, `${array.length} entries`);
  }
  if (array.length === 0) throw invalid('EMPTY_INPUT', argument, 'at least one class', '0 entries');
  array.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw invalid('NON_FINITE', argument, 'finite numbers', `${describeValue(v)} at index ${i}`);
    }
    if (allowZero ? v < 0 : v <= 0) {
      throw invalid(
        'OUT_OF_RANGE',
        argument,
        allowZero ? 'non-negative values' : 'positive values',
        `${v} at index ${i}`,
      );
    }
  });
  return array;
}

export function checkTemperature(value: number, argument = 'options.temperature'): number {
  return checkNumber(value, argument, { min: 0, minExclusive: true });
}
