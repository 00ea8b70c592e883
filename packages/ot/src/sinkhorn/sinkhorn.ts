import { checkNumber, checkOptions, invalid } from '@distillery/tensor';
import { makeKernel } from '../internal/kernel';
import { finishResult, l2, marginalsOf, type OtResult, type SolverOptions } from '../internal/result';
import {
  ENGINES,
  type Masses,
  parseEngine,
  parseIterations,
  parsePositive,
  readMasses,
  readMatrix,
  sum,
} from '../internal/validate';

export interface SinkhornOptions extends SolverOptions {
  /** Entropic regulariser (POT `reg`). Required. */
  reg: number;
}

/**
 * Balanced entropic OT (Sinkhorn-Knopp, Cuturi 2013, arXiv 1306.0895), in the log domain.
 *
 *     min_γ ⟨γ, M⟩ + reg·Σ γ log γ    s.t.  γ1 = a,  γᵀ1 = b
 *
 * Iteration (POT `ot.bregman.sinkhorn_knopp`, PythonOT/POT ot/bregman/_sinkhorn.py, with u = e^f, v = e^g,
 * K = e^{−M/reg}):
 *
 *     f = log(1/N),  g = log(1/K)
 *     repeat for ii = 0 … maxIter−1:
 *         g_j = log b_j − LSE_i(f_i − M_ij/reg)          (v = b / Kᵀu)
 *         f_i = log a_i − LSE_j(g_j − M_ij/reg)          (u = a / Kv)
 *         if ii % 10 == 0:  err = ‖γᵀ1 − b‖₂;  stop when err < tol
 *     γ = exp(f_i + g_j − M_ij/reg)
 *
 * Stopping rule: POT's (column-marginal L2 violation checked every 10th iteration, `stopThr`); `iterations` is
 * POT's `log['niter'] + 1`. The log-domain form is algebraically the same iteration, so it agrees with POT where POT
 * is finite and stays finite where the kernel underflows (reg down to 1e-3 and below).
 * `marginalError` = ‖γᵀ1 − b‖₂ + ‖γ1 − a‖₂ of the returned plan.
 *
 * Defaults (POT): maxIter 1000, tol 1e-9. `a`/`b` default to uniform. Masses must be non-negative, finite, and
 * Σa = Σb (relative 1e-6).
 */
export function sinkhorn(
  a: Masses | undefined,
  b: Masses | undefined,
  cost: unknown,
  options: SinkhornOptions,
): OtResult {
  const opts = checkOptions<SinkhornOptions>(options, { reg: true, maxIter: true, tol: true, engine: ENGINES });
  const reg = checkNumber(opts.reg, 'options.reg', { min: 0, minExclusive: true });
  const maxIter = parseIterations(opts.maxIter, 1000, 'options.maxIter');
  const tol = parsePositive(opts.tol, 1e-9, 'options.tol');
  const engine = parseEngine(opts.engine);
  const { values, n, k } = readMatrix(cost, 'cost', { finite: engine === 'backend' });
  const pa = readMasses(a, n, 'a');
  const pb = readMasses(b, k, 'b');
  const sa = sum(pa);
  const sb = sum(pb);
  if (Math.abs(sa - sb) > 1e-6 * Math.max(sa, sb)) {
    throw invalid('INVALID_ARGUMENT', 'b', `total mass equal to sum(a) = ${sa} (balanced OT)`, `sum(b) = ${sb}`);
  }
  const kernel = makeKernel({ values, scale: -1 / reg, argument: 'cost' }, n, k, engine);
  try {
    const logA = pa.map(Math.log);
    const logB = pb.map(Math.log);
    let f: Float64Array = new Float64Array(n).fill(Math.log(1 / n));
    let g = new Float64Array(k).fill(Math.log(1 / k));
    let iterations = maxIter;
    let converged = false;
    // Each pass fuses this iteration's row update with the next one's column sums, which are also the sums
    // POT's every-10th-iteration check recomputes.
    let c = kernel.colLse(f);
    let rowPotentials = () => f;
    for (let ii = 0; ii < maxIter; ii++) {
      g = new Float64Array(k);
      for (let j = 0; j < k; j++) g[j] = logB[j]! - c[j]!; // (a loop: TypedArray.map is ~4× slower here)
      const pass = kernel.rowColLse(g, logA);
      rowPotentials = pass.u;
      const c2 = pass.c;
      c = c2;
      if (ii % 10 === 0) {
        const err = l2(pb.map((bj, j) => Math.exp(g[j]! + c2[j]!) - bj));
        if (err < tol) {
          iterations = ii + 1;
          converged = true;
          break;
        }
      }
    }
    f = rowPotentials();
    const m = marginalsOf(kernel, f, g, c); // c = colLse(f) from the last pass
    const marginalError = l2(m.cols.map((x, j) => x - pb[j]!)) + l2(m.rows.map((x, i) => x - pa[i]!));
    return finishResult(kernel, f, g, iterations, marginalError, converged, 'options.reg', reg);
  } finally {
    kernel.dispose();
  }
}
