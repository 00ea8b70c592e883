import { checkNumber, describeValue, invalid } from '@distillery/tensor';

/**
 * The largest class count inferred from the labels alone (max(label) + 1). A single stray huge label (an id, a
 * float bit pattern) would otherwise size per-class tables by it and exhaust the heap; pass `numClasses` for more.
 */
export const MAX_INFERRED_CLASSES = 1_000_000;
/** The largest `numClasses` accepted (2^24; per-class tables of that size already take hundreds of MB). */
export const MAX_CLASSES = 2 ** 24;

/**
 * Validates a label array (integers in [0, numClasses), or in [0, MAX_INFERRED_CLASSES) when numClasses is not given)
 * and returns the number of classes (numClasses, or max(label) + 1).
 */
export function checkLabels(labels: ArrayLike<number>, argument = 'labels', numClasses?: number): number {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw invalid('INVALID_ARGUMENT', argument, 'an array of integer class labels', describeValue(labels));
  }
  const C =
    numClasses === undefined
      ? undefined
      : checkNumber(numClasses, 'numClasses', { min: 1, max: MAX_CLASSES, integer: true });
  const bound = C ?? MAX_INFERRED_CLASSES;
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= bound) {
      throw invalid(
        Number.isInteger(y) ? 'OUT_OF_RANGE' : 'NOT_INTEGER',
        `${argument}[${i}]`,
        C === undefined
          ? `an integer label in [0, ${MAX_INFERRED_CLASSES}) (pass numClasses for more classes)`
          : `an integer label in [0, ${C}) (numClasses ${C})`,
        describeValue(y),
      );
    }
    if (y > max) max = y;
  }
  return C ?? max + 1;
}

/** Validates per-class counts: non-negative integers, at least one class. */
export function checkCounts(counts: ArrayLike<number>, argument = 'counts', allowZero = true): number[] {
  if (counts === null || typeof counts !== 'object' || typeof counts.length !== 'number' || counts.length === 0) {
    throw invalid('EMPTY_INPUT', argument, 'a non-empty array of per-class counts', describeValue(counts));
  }
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    checkNumber(n, `${argument}[${i}]`, { min: allowZero ? 0 : 1, integer: true });
    out.push(n);
  }
  return out;
}

/** The per-epoch seed: the same (seed, epoch) always gives the same stream, so a resumed run draws the same order. */
export function epochSeed(seed: number, epoch: number): string {
  return `distillery-sampler:${seed}:${epoch}`;
}
