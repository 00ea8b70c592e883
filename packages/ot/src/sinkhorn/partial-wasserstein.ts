import { checkNumber, checkOptions, invalid } from '@distillery/tensor';
import { type LogKernel, lseVector, makeKernel } from '../internal/kernel';
import { finishResult, l2, marginalsOf, nonFiniteSolve, type OtResult, type SolverOptions } from '../internal/result';
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

export interface PartialWassersteinOptions extends SolverOptions {
  /** Entropic regulariser (POT `reg`). Required. */
  reg: number;
  /** Total mass to transport (POT `m`); default min(Σa, Σb). */
  mass?: number;
}

/**
 * Entropic partial OT (Benamou et al. 2015, arXiv 1412.5154; POT `ot.partial.entropic_partial_wasserstein`,
 * PythonOT/POT ot/partial.py), in the log domain.
 *
 *     min_γ ⟨γ, M⟩ + reg·Σ γ log γ    s.t.  γ1 ≤ a,  γᵀ1 ≤ b,  1ᵀγ1 = m
 *
 * Dykstra's iterated KL projections on the three constraint sets, as POT runs them. Every iterate has the form
 * log γ = −M/reg + x_i + y_j + c and every Dykstra correction is a row vector, a column vector or a scalar
 * (q1 = 1/s1, q2 = 1/s2, q3 = 1/s3), so the whole loop lives on length-N / length-K vectors:
 *
 *     γ⁰ = e^{−M/reg} · m / Σ e^{−M/reg}
 *     repeat ≤ maxIter (counter cpt from 0):
 *         rows:   γ ← γ·q1;  s1 = min(a / γ1, 1);   γ ← diag(s1) γ;  q1 = 1/s1
 *         cols:   γ ← γ·q2;  s2 = min(b / γᵀ1, 1);  γ ← γ diag(s2);  q2 = 1/s2
 *         mass:   γ ← γ·q3;  s3 = m / Σγ;            γ ← s3·γ;       q3 = 1/s3
 *         if cpt % 10 == 0: err = ‖γ_prev − γ‖_F;  stop when err ≤ tol  (POT loops `while err > stopThr`)
 *
 * Stopping rule: POT's (Frobenius change of the plan, checked every 10th iteration). Defaults (POT): maxIter 1000,
 * tol 1e-100 (i.e. POT effectively always runs maxIter iterations). `marginalError` = ‖(γ1 − a)₊‖₂ + ‖(γᵀ1 − b)₊‖₂
 * + |Σγ − m|.
 */
export function partialWasserstein(
  a: Masses | undefined,
  b: Masses | undefined,
  cost: unknown,
  options: PartialWassersteinOptions,
): OtResult {
  const opts = checkOptions<PartialWassersteinOptions>(options, {
    reg: true,
    mass: true,
    maxIter: true,
    tol: true,
    engine: ENGINES,
  });
  const reg = checkNumber(opts.reg, 'options.reg', { min: 0, minExclusive: true });
  const maxIter = parseIterations(opts.maxIter, 1000, 'options.maxIter');
  const tol = parsePositive(opts.tol, 1e-100, 'options.tol');
  const engine = parseEngine(opts.engine);
  const { values, n, k } = readMatrix(cost, 'cost', { finite: engine === 'backend' });
  const pa = readMasses(a, n, 'a');
  const pb = readMasses(b, k, 'b');
  const limit = Math.min(sum(pa), sum(pb));
  const m = opts.mass === undefined ? limit : checkNumber(opts.mass, 'options.mass', { min: 0, minExclusive: true });
  if (m > limit * (1 + 1e-12)) {
    throw invalid('OUT_OF_RANGE', 'options.mass', `a mass <= min(sum(a), sum(b)) = ${limit}`, String(m));
  }
  const kernel = makeKernel({ values, scale: -1 / reg, argument: 'cost' }, n, k, engine);
  try {
    const logA = pa.map(Math.log);
    const logB = pb.map(Math.log);
    const logM = Math.log(m);
    const x = new Float64Array(n);
    const y = new Float64Array(k);
    let c = logM - lseVector(kernel.rowLse(y));
    let q1: Float64Array = new Float64Array(n);
    let q2: Float64Array = new Float64Array(k);
    let q3 = 0;
    let iterations = maxIter;
    let converged = false;
    for (let cpt = 0; cpt < maxIter; cpt++) {
      const xPrev = x.slice();
      const yPrev = y.slice();
      const cPrev = c;
      // rows (a zero-mass row is −∞ after the first projection and stays there: its correction is 0, not ∞)
      for (let i = 0; i < n; i++) x[i]! += q1[i]!;
      const r = kernel.rowLse(y);
      const s1 = projection(logA, r, x, c);
      for (let i = 0; i < n; i++) x[i]! += s1[i]!;
      q1 = correction(s1);
      // columns
      for (let j = 0; j < k; j++) y[j]! += q2[j]!;
      const col = kernel.colLse(x);
      const s2 = projection(logB, col, y, c);
      for (let j = 0; j < k; j++) y[j]! += s2[j]!;
      q2 = correction(s2);
      // total mass
      c += q3;
      const r2 = kernel.rowLse(y);
      const total = lseVector(r2.map((ri, i) => ri + x[i]!)) + c;
      const s3 = logM - total;
      c += s3;
      q3 = -s3;
      if (!Number.isFinite(c)) throw nonFinite(reg, cpt);
      if (cpt % 10 === 0) {
        const err = frobeniusChange(kernel, xPrev, yPrev, cPrev, x, y, c);
        if (Number.isNaN(err)) throw nonFinite(reg, cpt);
        // POT stops on the plan change alone, which can be 0 while the Dykstra corrections still move the plan
        // (reg 1e-3, costs 1e3: one iteration, a marginal violation of 0.6): the stop also needs a feasible plan.
        if (!(err > tol) && violation(kernel, x, y, c, pa, pb, m) <= Math.max(tol, FEASIBILITY_TOL) * m) {
          iterations = cpt + 1;
          converged = true;
          break;
        }
      }
    }
    const u = x.map((xi) => xi + c);
    const marginalError = violation(kernel, x, y, c, pa, pb, m);
    return finishResult(kernel, u, y, iterations, marginalError, converged, 'options.reg', reg);
  } finally {
    kernel.dispose();
  }
}

/** Below this violation (relative to m, or tol if larger) a plan that stopped changing counts as converged. */
const FEASIBILITY_TOL = 1e-6;

/** s_i = min(log target_i − (lse_i + x_i + c), 0), with 0 where the row is already −∞ (zero mass). */
function projection(logTarget: Float64Array, lse: Float64Array, x: Float64Array, c: number): Float64Array {
  const s = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    if (logTarget[i] === Number.NEGATIVE_INFINITY)
      s[i] = x[i] === Number.NEGATIVE_INFINITY ? 0 : Number.NEGATIVE_INFINITY;
    else s[i] = Math.min(logTarget[i]! - (lse[i]! + x[i]! + c), 0);
  }
  return s;
}

/** Dykstra's correction −s (a −∞ step, i.e. a row or column set to zero for good, leaves none). */
function correction(s: Float64Array): Float64Array {
  return s.map((v) => (v === Number.NEGATIVE_INFINITY ? 0 : -v));
}

/** ‖(γ1 − a)₊‖₂ + ‖(γᵀ1 − b)₊‖₂ + |Σγ − m| of γ = exp(L + x + c + y). */
function violation(
  kernel: LogKernel,
  x: Float64Array,
  y: Float64Array,
  c: number,
  pa: Float64Array,
  pb: Float64Array,
  m: number,
): number {
  const mg = marginalsOf(
    kernel,
    x.map((xi) => xi + c),
    y,
  );
  return (
    l2(mg.rows.map((v, i) => Math.max(v - pa[i]!, 0))) +
    l2(mg.cols.map((v, j) => Math.max(v - pb[j]!, 0))) +
    Math.abs(sum(mg.rows) - m)
  );
}

function nonFinite(reg: number, cpt: number) {
  return nonFiniteSolve('options.reg', reg, 'a non-finite Dykstra iterate', cpt + 1);
}

function frobeniusChange(
  kernel: { planHost(u: Float64Array, v: Float64Array): Float64Array },
  x0: Float64Array,
  y0: Float64Array,
  c0: number,
  x1: Float64Array,
  y1: Float64Array,
  c1: number,
): number {
  const p0 = kernel.planHost(
    x0.map((v) => v + c0),
    y0,
  );
  const p1 = kernel.planHost(
    x1.map((v) => v + c1),
    y1,
  );
  let s = 0;
  for (let i = 0; i < p0.length; i++) s += (p0[i]! - p1[i]!) ** 2;
  return Math.sqrt(s);
}
