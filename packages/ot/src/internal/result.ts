import { type DistilleryError, invalid, type tf } from '@distillery/tensor';
import type { LogKernel, OtEngine } from './kernel';

/** What every solver returns. The caller owns (and disposes) `plan`. */
export interface OtResult {
  /** Transport plan γ, float32 [N, K]. */
  plan: tf.Tensor2D;
  /** Iterations performed (the reference's loop counter after the loop). */
  iterations: number;
  /** Marginal violation of the returned plan (definition per solver, see its doc comment). */
  marginalError: number;
  /** True when the stopping rule fired before `maxIter`. */
  converged: boolean;
  /** Final log row scaling (log u, float64). */
  logU: Float64Array;
  /** Final log column scaling (log v, float64). */
  logV: Float64Array;
}

export interface SolverOptions {
  /** Maximum number of iterations (POT `numItermax`). */
  maxIter?: number;
  /** Stopping threshold (POT `stopThr`). */
  tol?: number;
  /** Where the N×K log-sum-exps run; default `'float64'` (host float64, backend-independent). */
  engine?: OtEngine;
}

export function l2(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

/** Row and column sums of γ = exp(L + u + v) from the kernel's log-sum-exps (`colLseOfU`: colLse(u), if known). */
export function marginalsOf(
  kernel: { rowLse(v: Float64Array): Float64Array; colLse(u: Float64Array): Float64Array },
  u: Float64Array,
  v: Float64Array,
  colLseOfU?: Float64Array,
): { rows: Float64Array; cols: Float64Array } {
  const r = kernel.rowLse(v);
  const c = colLseOfU ?? kernel.colLse(u);
  return { rows: r.map((x, i) => Math.exp(x + u[i]!)), cols: c.map((x, j) => Math.exp(x + v[j]!)) };
}

/**
 * The solver's result from its final potentials: the plan is formed, and a plan, potential or marginal error that
 * is not finite is a NON_FINITE error naming `argument` (the regulariser, usually), never a result that reports
 * convergence. (A −∞ potential is a zero-mass row or column: its plan entries are exact zeros.)
 */
export function finishResult(
  kernel: LogKernel,
  u: Float64Array,
  v: Float64Array,
  iterations: number,
  marginalError: number,
  converged: boolean,
  argument: string,
  reg: number,
): OtResult {
  const bad = (x: Float64Array) => x.findIndex((p) => Number.isNaN(p) || p === Number.POSITIVE_INFINITY);
  const at = bad(u) >= 0 ? `log u[${bad(u)}] = ${u[bad(u)]}` : bad(v) >= 0 ? `log v[${bad(v)}] = ${v[bad(v)]}` : '';
  if (at || !Number.isFinite(marginalError)) {
    throw nonFiniteSolve(argument, reg, at || `marginal error ${marginalError}`, iterations);
  }
  const plan = kernel.plan(u, v);
  const values = plan.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      plan.dispose();
      const k = v.length;
      throw nonFiniteSolve(argument, reg, `plan[${Math.floor(i / k)}, ${i % k}] = ${values[i]}`, iterations);
    }
  }
  return { plan, iterations, marginalError, converged, logU: u, logV: v };
}

export function nonFiniteSolve(argument: string, reg: number, what: string, iterations: number): DistilleryError {
  return invalid(
    'NON_FINITE',
    argument,
    'a regulariser for which the solve stays finite (try a larger one)',
    `${reg}: ${what} after ${iterations} iterations`,
  );
}
