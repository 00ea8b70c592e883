import { checkNumber, invalid } from '@distillery/tensor/errors';

/** Validates a label array (integers in [0, numClasses)) and returns the number of classes. */
export function checkLabels(labels: ArrayLike<number>, argument = 'labels', numClasses?: number): number {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw invalid('INVALID_ARGUMENT', argument, 'an array of integer class labels', String(labels));
  }
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || (numClasses !== undefined && y >= numClasses)) {
      throw invalid(
        'OUT_OF_RANGE',
        `${argument}[${i}]`,
        numClasses === undefined ? 'a non-negative integer label' : `an integer label in [0, ${numClasses})`,
        String(y),
      );
    }
    if (y > max) max = y;
  }
  if (numClasses !== undefined) return checkNumber(numClasses, 'numClasses', { min: 1, integer: true });
  return max + 1;
}

/** Validates per-class counts: non-negative integers, at least one class. */
export function checkCounts(counts: ArrayLike<number>, argument = 'counts', allowZero = true): number[] {
  if (counts === null || typeof counts !== 'object' || typeof counts.length !== 'number' || counts.length === 0) {
    throw invalid('EMPTY_INPUT', argument, 'a non-empty array of per-class counts', String(counts));
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
