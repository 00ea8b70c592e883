import {
  assertFinite,
  assertLabels,
  assertLogits,
  assertRank,
  assertShape,
  assertTensor,
  DistilleryError,
  tf,
} from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

function caught(fn: () => unknown): DistilleryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DistilleryError) return error;
    throw error;
  }
  throw new Error('expected a DistilleryError');
}

describe('tensor validation', () => {
  it('names the argument, the expected and the actual shape', () => {
    const x = tf.zeros([2, 3]);
    const e = caught(() => assertShape(x, [2, 4], 'teacher'));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.argument).toBe('teacher');
    expect(e.message).toBe('teacher: expected shape [2, 4], got shape [2, 3]');
    expect(() => assertShape(x, [null, 3], 'teacher')).not.toThrow();
    expect(caught(() => assertRank(x, 1, 'labels')).code).toBe('INVALID_RANK');
    expect(caught(() => assertTensor([1, 2], 'student')).message).toBe(
      'student: expected a tf.Tensor, got an array of length 2',
    );
    x.dispose();
  });

  it('checks logits: rank, dtype, empty batch and class count', () => {
    const ok = tf.zeros([4, 10]);
    expect(assertLogits(ok, 'student', 2)).toEqual([4, 10]);
    const empty = tf.zeros([0, 10]);
    expect(caught(() => assertLogits(empty, 'student')).code).toBe('EMPTY_INPUT');
    const single = tf.zeros([4, 1]);
    expect(caught(() => assertLogits(single, 'student', 2)).message).toMatch(/student: expected at least 2 classes/);
    const ints = tf.zeros([4, 10], 'int32');
    expect(caught(() => assertLogits(ints, 'student')).code).toBe('INVALID_DTYPE');
    tf.dispose([ok, empty, single, ints]);
  });

  it('checks label values: integers in [0, C), one per row', () => {
    const good = tf.tensor1d([0, 9, 3], 'int32');
    expect(() => assertLabels(good, 10, 'labels', 3)).not.toThrow();
    const high = tf.tensor1d([0, 10], 'int32');
    const e = caught(() => assertLabels(high, 10, 'labels'));
    expect(e.code).toBe('OUT_OF_RANGE');
    expect(e.message).toBe('labels: expected labels in [0, 10), got 10 at index 1');
    const negative = tf.tensor1d([-1], 'int32');
    expect(caught(() => assertLabels(negative, 10, 'labels')).code).toBe('OUT_OF_RANGE');
    const fractional = tf.tensor1d([0.5], 'float32');
    expect(caught(() => assertLabels(fractional, 10, 'labels')).code).toBe('NOT_INTEGER');
    expect(caught(() => assertLabels(good, 10, 'labels', 4)).code).toBe('SHAPE_MISMATCH');
    tf.dispose([good, high, negative, fractional]);
  });

  it('finds the first non-finite value when asked', () => {
    const x = tf.tensor1d([1, Number.NaN, Number.POSITIVE_INFINITY]);
    const e = caught(() => assertFinite(x, 'teacher'));
    expect(e.code).toBe('NON_FINITE');
    expect(e.message).toBe('teacher: expected finite values, got NaN at flat index 1');
    x.dispose();
  });
});
