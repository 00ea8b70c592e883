import { expect } from 'vitest';

/**
 * |actual − expected| ≤ rtol·|expected| + atol, elementwise (numpy's `allclose`), failing with the worst offender.
 * NaN anywhere fails.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol = 0,
  label = '',
): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
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
    const where = label ? `${label}, index ${worst}` : `index ${worst}`;
    throw new Error(`${where}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/**
 * |actual − expected| ≤ tol · max(|expected|, floor) with floor = 1e-2 · max|expected|: entries near zero are
 * compared at the scale of the whole tensor (gradients, whose small entries carry float32 noise). Returns the worst
 * relative error.
 */
export function expectScaledClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  label = '',
): number {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
  const floor = Math.max(1e-2 * maxAbs, 1e-12);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor);
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  expect(
    worst,
    `${label}: worst relative error ${worst} at ${worstAt} (${actual[worstAt]} vs ${expected[worstAt]})`,
  ).toBeLessThanOrEqual(tol);
  return worst;
}
