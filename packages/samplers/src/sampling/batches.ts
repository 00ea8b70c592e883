import { checkEnum, checkNumber, checkOptions, describeValue, invalid } from '@distillery/tensor';

/**
 * Splits an epoch's indices into consecutive batches of `batchSize` (torch BatchSampler). With `dropLast` the final
 * short batch is dropped; a batch size larger than the epoch then yields nothing, which is an error here.
 */
export function batchIndices(
  indices: ArrayLike<number>,
  batchSize: number,
  options: { dropLast?: boolean } = {},
): Int32Array[] {
  const { dropLast = false } = checkOptions<{ dropLast?: boolean }>(options, { dropLast: [true, false] });
  const B = checkNumber(batchSize, 'batchSize', { min: 1, integer: true });
  if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') {
    throw invalid('INVALID_ARGUMENT', 'indices', "an array of an epoch's sample indices", describeValue(indices));
  }
  const n = indices.length;
  for (let i = 0; i < n; i++) {
    const v = indices[i] as number;
    if (!Number.isInteger(v) || v < 0) {
      throw invalid('OUT_OF_RANGE', `indices[${i}]`, 'a non-negative integer index', describeValue(v));
    }
  }
  if (n === 0) throw invalid('EMPTY_INPUT', 'indices', 'at least one index', 'an empty epoch');
  if (dropLast && B > n) {
    throw invalid('OUT_OF_RANGE', 'batchSize', `at most the epoch size ${n} with dropLast`, String(B));
  }
  const out: Int32Array[] = [];
  for (let start = 0; start < n; start += B) {
    const end = Math.min(start + B, n);
    if (dropLast && end - start < B) break;
    out.push(Int32Array.from({ length: end - start }, (_, k) => indices[start + k] as number));
  }
  return out;
}

/** Number of batches per epoch: ⌊n/B⌋ with dropLast, ⌈n/B⌉ otherwise. */
export function batchCount(size: number, batchSize: number, dropLast = false): number {
  const n = checkNumber(size, 'size', { min: 0, integer: true });
  const B = checkNumber(batchSize, 'batchSize', { min: 1, integer: true });
  checkEnum(dropLast, 'dropLast', [true, false]);
  return dropLast ? Math.floor(n / B) : Math.ceil(n / B);
}
