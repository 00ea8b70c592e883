import type { Rng } from '@distillery/tensor';

/** Cumulative sums of non-negative weights (the last entry is the total). */
export function cumulative(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) {
    s += weights[i] as number;
    out[i] = s;
  }
  return out;
}

/** Draws an index with probability weights[i] / Σ weights by inverse CDF (binary search over `cdf`). */
export function drawCategorical(cdf: Float64Array, rng: Rng): number {
  const total = cdf[cdf.length - 1] as number;
  const u = rng.uniform() * total;
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cdf[mid] as number) > u) hi = mid;
    else lo = mid + 1;
  }
  // The smallest lo with cdf[lo] > u: its weight cdf[lo] − cdf[lo−1] > 0, so zero weights are never drawn.
  return lo;
}
