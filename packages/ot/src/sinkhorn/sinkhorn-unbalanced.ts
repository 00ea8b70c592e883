import { checkNumber, checkOptions, describeValue, invalid } from '@distillery/tensor';
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
} from '../internal/validate';

export interface SinkhornUnbalancedOptions extends SolverOptions {
  /** Entropic regulariser (POT `reg`). Required. */
  reg: number;
  /** Marginal KL relaxation (POT `reg_m`); `Infinity` makes both marginals hard. Required. */
  regMarginals: number;
}

/** max|e^x − e^y| / max(max e^x, max e^y, 1), computed without overflow. */
function relativeChange(x: Float64Array, y: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]!, y[i]!);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(Math.exp(x[i]! - m) - Math.exp(y[i]! - m)));
  return d;
}

/**
 * Unbalanced entropic OT (Chizat et al. 2018, arXiv 1607.05816), in the log domain.
 *
 *     min_γ ⟨γ, M⟩ + reg·Σ γ log γ + reg_m·KL(γ1 ‖ a) + reg_m·KL(γᵀ1 ‖ b)
 *
 * Iteration (POT 0.8 `ot.unbalanced.sinkhorn_knopp_unbalanced`, entropy kernel K = e^{−M/reg}, i.e. POT's
 * `reg_type='entropy'`, the default before 0.9.5), with u = e^f, v = e^g and fi = reg_m / (reg_m + reg):
 *
 *     f = log(1/N),  g = log(1/K)
 *     repeat ≤ maxIter:
 *         f_i = fi·(log a_i − LSE_j(g_j − M_ij/reg))       (u = (a / Kv)^fi)
 *         g_j = fi·(log b_j − LSE_i(f_i − M_ij/reg))       (v = (b / Kᵀu)^fi)
 *         err = ½·( max|Δu| / max(max|u|, max|u_prev|, 1) + the same for v );  stop when err < tol
 *     γ = exp(f_i + g_j − M_ij/reg)
 *
 * Stopping rule: POT's, evaluated on u, v (not on the log potentials) without overflow.
 * `marginalError` = ‖γ1 − a‖₂ + ‖γᵀ1 − b‖₂ (information only: marginals are relaxed by design).
 * Defaults (POT): maxIter 1000, tol 1e-6.
 */
export function sinkhornUnbalanced(
  a: Masses | undefined,
  b: Masses | undefined,
  cost: unknown,
  options: SinkhornUnbalancedOptions,
): OtResult {
  const opts = checkOptions<SinkhornUnbalancedOptions>(options, {
    reg: true,
    regMarginals: true,
    maxIter: true,
    tol: true,
    engine: ENGINES,
  });
  const reg = checkNumber(opts.reg, 'options.reg', { min: 0, minExclusive: true });
  const regM = opts.regMarginals;
  if (!(typeof regM === 'number' && regM > 0 && !Number.isNaN(regM))) {
    throw invalid(
      'OUT_OF_RANGE',
      'options.regMarginals',
      'a number > 0 (Infinity for hard marginals)',
      describeValue(regM),
    );
  }
  const maxIter = parseIterations(opts.maxIter, 1000, 'options.maxIter');
  const tol = parsePositive(opts.tol, 1e-6, 'options.tol');
  const engine = parseEngine(opts.engine);
  const { values, n, k } = readMatrix(cost, 'cost', { finite: engine === 'backend' });
  const pa = readMasses(a, n, 'a');
  const pb = readMasses(b, k, 'b');
  const fi = regM === Number.POSITIVE_INFINITY ? 1 : regM / (regM + reg);
  const kernel = makeKernel({ values, scale: -1 / reg, argument: 'cost' }, n, k, engine);
  try {
    const logA = pa.map(Math.log);
    const logB = pb.map(Math.log);
    let f = new Float64Array(n).fill(Math.log(1 / n));
    let g = new Float64Array(k).fill(Math.log(1 / k));
    let iterations = maxIter;
    let converged = false;
    for (let i = 0; i < maxIter; i++) {
      const fPrev = f;
      const gPrev = g;
      const r = kernel.rowLse(g);
      f = new Float64Array(n);
      for (let ii = 0; ii < n; ii++) f[ii] = fi * (logA[ii]! - r[ii]!);
      const c = kernel.colLse(f);
      g = new Float64Array(k);
      for (let j = 0; j < k; j++) g[j] = fi * (logB[j]! - c[j]!);
      const err = 0.5 * (relativeChange(f, fPrev) + relativeChange(g, gPrev));
      if (err < tol) {
        iterations = i + 1;
        converged = true;
        break;
      }
    }
    const m = marginalsOf(kernel, f, g);
    const marginalError = l2(m.rows.map((x, i) => x - pa[i]!)) + l2(m.cols.map((x, j) => x - pb[j]!));
    return finishResult(kernel, f, g, iterations, marginalError, converged, 'options.reg', reg);
  } finally {
    kernel.dispose();
  }
}
