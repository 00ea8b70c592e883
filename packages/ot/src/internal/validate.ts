import { assertDtype, assertRank, checkEnum, checkNumber, describeValue, invalid, tf } from '@distillery/tensor';
import type { OtEngine } from './kernel';

export type Masses = tf.Tensor | ArrayLike<number>;

/**
 * A finite float32 (or int32) [N, K] matrix's values (N, K >= 1), as the backend holds them: read them, never write.
 * `finite: false` leaves the finiteness check to the caller (the host kernel checks its copy in its SIMD module, then
 * reports through `assertFiniteValues`).
 */
export function readMatrix(
  x: unknown,
  argument: string,
  { finite = true }: { finite?: boolean } = {},
): { values: Float32Array | Int32Array; n: number; k: number } {
  const t = assertRank(x, 2, argument);
  assertDtype(t, ['float32', 'int32'], argument);
  const [n, k] = t.shape as [number, number];
  if (n === 0 || k === 0) throw invalid('EMPTY_INPUT', argument, 'a non-empty matrix', `shape [${n}, ${k}]`);
  const values = t.dataSync() as Float32Array | Int32Array;
  if (finite) assertFiniteValues(values, k, argument);
  return { values, n, k };
}

/** Throws NON_FINITE naming the first NaN/±∞ entry of a row-major matrix with k columns. */
export function assertFiniteValues(values: ArrayLike<number>, k: number, argument: string): void {
  if (values instanceof Int32Array) return;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x - x !== 0) throw invalid('NON_FINITE', argument, 'finite values', `${x} at [${Math.floor(i / k)}, ${i % k}]`);
  }
}

/** Histogram of non-negative finite masses of the given length; `undefined` gives the uniform 1/length. */
export function readMasses(x: Masses | undefined, length: number, argument: string): Float64Array {
  if (x === undefined || x === null) return new Float64Array(length).fill(1 / length);
  let values: Float64Array;
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw invalid('INVALID_ARGUMENT', argument, 'a live tensor', 'a disposed tensor');
    if (x.size !== length || x.rank !== 1) {
      throw invalid('SHAPE_MISMATCH', argument, `a vector of length ${length}`, `shape [${x.shape.join(', ')}]`);
    }
    values = new Float64Array(x.dataSync());
  } else if (typeof x === 'object' && typeof (x as ArrayLike<number>).length === 'number') {
    if ((x as ArrayLike<number>).length !== length) {
      throw invalid('SHAPE_MISMATCH', argument, `a vector of length ${length}`, describeValue(x));
    }
    values = Float64Array.from(x as ArrayLike<number>);
  } else {
    throw invalid('INVALID_ARGUMENT', argument, 'a tensor or an array of masses', describeValue(x));
  }
  let total = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw invalid('NON_FINITE', argument, 'finite masses', `${v} at index ${i}`);
    if (v < 0) throw invalid('OUT_OF_RANGE', argument, 'non-negative masses', `${v} at index ${i}`);
    total += v;
  }
  if (total <= 0) throw invalid('OUT_OF_RANGE', argument, 'a positive total mass', String(total));
  return values;
}

export function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}

export function logOf(x: Float64Array): Float64Array {
  return x.map((v) => Math.log(v));
}

/** The engines of `SolverOptions.engine` (the options spec's enum). */
export const ENGINES: readonly OtEngine[] = ['float64', 'backend'];

export function parseEngine(value: unknown, argument = 'options.engine'): OtEngine {
  return value === undefined ? 'float64' : checkEnum(value, argument, ENGINES);
}

export function parseIterations(value: unknown, fallback: number, argument: string): number {
  return value === undefined ? fallback : checkNumber(value, argument, { min: 1, integer: true });
}

export function parsePositive(value: unknown, fallback: number, argument: string): number {
  return value === undefined ? fallback : checkNumber(value, argument, { min: 0, minExclusive: true });
}

export function parseNonNegative(value: unknown, fallback: number, argument: string): number {
  return value === undefined ? fallback : checkNumber(value, argument, { min: 0 });
}
