/** Shared assertions of the parity tests (ot, pseudo-labels): elementwise closeness and DistilleryError checks. */
import { DistilleryError } from '@distillery/tensor';
import { expect } from 'vitest';

/** |actual − expected| ≤ rtol·|expected| + atol, elementwise, with the worst offender in the message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol = 0): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (rtol * Math.abs(expected[i]!) + atol);
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`index ${worst}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Runs fn and checks it throws a DistilleryError naming `argument` (and `code` if given). */
export function expectDistilleryError(fn: () => unknown, argument: string, code?: string): DistilleryError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DistilleryError);
    const err = e as DistilleryError;
    expect(err.argument).toBe(argument);
    if (code) expect(err.code).toBe(code);
    return err;
  }
  throw new Error(`expected a DistilleryError naming ${argument}`);
}
