/**
 * Errors every Distillery package throws for bad input. This module imports no tensor library, so
 * plain-TypeScript packages (samplers, metrics) can use it through `@distillery/tensor/errors`.
 */

/** What went wrong, stable across releases so callers can branch on it. */
export type DistilleryErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'INVALID_RANK'
  | 'INVALID_DTYPE'
  | 'OUT_OF_RANGE'
  | 'NOT_INTEGER'
  | 'NON_FINITE'
  | 'EMPTY_INPUT'
  | 'BACKEND_UNAVAILABLE'
  | 'LEAK'
  | 'IO'
  | 'FORMAT';

export interface DistilleryErrorDetails {
  /** The argument (or option, or file path) that was wrong, e.g. `teacher` or `options.temperature`. */
  argument?: string;
  /** What was expected, in words or as a shape like `[8, 10]`. */
  expected?: string;
  /** What was given. */
  actual?: string;
}

export class DistilleryError extends Error {
  readonly code: DistilleryErrorCode;
  readonly argument?: string;
  readonly expected?: string;
  readonly actual?: string;

  constructor(code: DistilleryErrorCode, message: string, details: DistilleryErrorDetails = {}) {
    super(message);
    this.name = 'DistilleryError';
    this.code = code;
    this.argument = details.argument;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** `[8, 10]` style rendering used in every message. */
export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
}

/** Builds the standard message: "<argument>: expected <expected>, got <actual>". */
export function invalid(
  code: DistilleryErrorCode,
  argument: string,
  expected: string,
  actual: string,
  hint?: string,
): DistilleryError {
  const message = `${argument}: expected ${expected}, got ${actual}${hint ? `. ${hint}` : ''}`;
  return new DistilleryError(code, message, { argument, expected, actual });
}

/** A finite number (optionally in a range). Returns the value for chaining in option parsing. */
export function checkNumber(
  value: unknown,
  argument: string,
  range: { min?: number; max?: number; minExclusive?: boolean; integer?: boolean } = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid('INVALID_ARGUMENT', argument, 'a finite number', describeValue(value));
  }
  if (range.integer && !Number.isInteger(value)) {
    throw invalid('NOT_INTEGER', argument, 'an integer', String(value));
  }
  const { min, max, minExclusive } = range;
  if (min !== undefined && (minExclusive ? value <= min : value < min)) {
    throw invalid('OUT_OF_RANGE', argument, `a number ${minExclusive ? '>' : '>='} ${min}`, String(value));
  }
  if (max !== undefined && value > max) {
    throw invalid('OUT_OF_RANGE', argument, `a number <= ${max}`, String(value));
  }
  return value;
}

/** Short, safe description of any value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value))
    return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === 'object') {
    const shape = (value as { shape?: unknown }).shape;
    if (Array.isArray(shape)) return `a tensor of shape ${formatShape(shape)}`;
    return 'an object';
  }
  return typeof value;
}

export { checkEnum, checkOptions, closestName, type OptionsSpec, type OptionValue } from './options';
