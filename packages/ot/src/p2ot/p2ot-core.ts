import { checkEnum, checkNumber, describeValue, invalid, type OptionsSpec, tf } from '@distillery/tensor';
import { HostKernel, type LogKernel, makeKernel, type OtEngine } from '../internal/kernel';
import { ENGINES, parseEngine, parseIterations, parsePositive } from '../internal/validate';

/** Solver state carried between calls (the reference keeps `self.b` for the next call: "two view speed up"). */
export interface P2otState {
  /** log b of the last solve, length K + 1 (last entry = virtual cluster). */
  logB: Float64Array;
}

export interface P2otOptions {
  /** Fraction of the total mass transported, in (0, 1]. Required (use `rhoSchedule`). */
  rho: number;
  /** Entropic regulariser ε (`sk_factor`), default 0.1. */
  epsilon?: number;
  /** KL weight λ on the real-cluster marginal (`gamma_bound`), default 1. */
  gamma?: number;
  /** Maximum iterations (`numItermax`), default 1000. */
  maxIter?: number;
  /** Stop when ‖b − b_prev‖₂ ≤ tol (`stoperr`), default 1e-6. */
  tol?: number;
  /** false: plain partial OT ("pot" variant, every column marginal hard). Default true (P²OT). */
  semiRelaxed?: boolean;
  /**
   * 'absolute' (default, the reference's): stop when ‖b − b_prev‖₂ ≤ tol. 'relative': stop when
   * ‖b − b_prev‖₂ / max_j b_j ≤ tol (scale-free, for costs that make b astronomically small or large).
   */
  stopRule?: 'absolute' | 'relative';
  /** Warm start from a previous result's `state`. */
  warmStart?: P2otState;
  /** Where the N×(K+1) log-sum-exps run; default 'float64' (host, backend-independent). */
  engine?: OtEngine;
}

export interface ParsedP2ot {
  rho: number;
  epsilon: number;
  gamma: number;
  maxIter: number;
  tol: number;
  semiRelaxed: boolean;
  warmStart: P2otState | undefined;
  engine: OtEngine;
  stopRule: 'absolute' | 'relative';
}

/** The declared keys of `P2otOptions` (checked by `checkOptions` in `p2ot`; SP²OT adds its own). */
export const P2OT_OPTIONS: OptionsSpec<P2otOptions> = {
  rho: true,
  epsilon: true,
  gamma: true,
  maxIter: true,
  tol: true,
  semiRelaxed: true,
  stopRule: ['absolute', 'relative'],
  warmStart: true,
  engine: ENGINES,
};

/** The values of options already checked against their declared keys (`checkOptions`). */
export function parseP2otOptions(
  options: Omit<P2otOptions, 'stopRule'> & { stopRule?: unknown },
  defaultStopRule: 'absolute' | 'relative' = 'absolute',
): ParsedP2ot {
  const rho = checkNumber(options.rho, 'options.rho', { min: 0, minExclusive: true, max: 1 });
  const epsilon = parsePositive(options.epsilon, 0.1, 'options.epsilon');
  const gamma = parsePositive(options.gamma, 1, 'options.gamma');
  const maxIter = parseIterations(options.maxIter, 1000, 'options.maxIter');
  const tol = parsePositive(options.tol, 1e-6, 'options.tol');
  const semiRelaxed = options.semiRelaxed ?? true;
  if (typeof semiRelaxed !== 'boolean') {
    throw invalid('INVALID_ARGUMENT', 'options.semiRelaxed', 'a boolean', describeValue(semiRelaxed));
  }
  const warmStart = options.warmStart;
  if (warmStart !== undefined && !(warmStart && warmStart.logB instanceof Float64Array)) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.warmStart',
      'a P2otState { logB: Float64Array }',
      describeValue(warmStart),
    );
  }
  const stopRule = checkEnum(options.stopRule ?? defaultStopRule, 'options.stopRule', [
    'absolute',
    'relative',
  ] as const);
  return { rho, epsilon, gamma, maxIter, tol, semiRelaxed, warmStart, engine: parseEngine(options.engine), stopRule };
}

export interface P2otCoreResult {
  /** Plan over the real clusters, NOT multiplied by N, float64 row-major N×K. */
  plan: Float64Array;
  iterations: number;
  converged: boolean;
  /** Last ‖b − b_prev‖₂. */
  lastChange: number;
  state: P2otState;
}

export interface P2otResult {
  /** Soft pseudo-labels Q = N·plan[:, :K], float32 [N, K]; rows sum to ≤ 1, Σ Q = N·ρ. Caller disposes. */
  pseudoLabels: tf.Tensor2D;
  iterations: number;
  converged: boolean;
  /** Last ‖b − b_prev‖₂ (the stopping quantity). */
  lastChange: number;
  /** Σ Q / N: the transported mass fraction (≈ ρ). */
  transportedMass: number;
  /** Column sums of Q / N, length K (cluster sizes as mass fractions). */
  clusterMass: Float64Array;
  /** Pass as `warmStart` to the next call (the reference warm-starts b across calls). */
  state: P2otState;
}

/** The public P²OT result from a transport plan [N, K] (without the virtual column): Q = N·plan, cluster masses. */
export function finishP2ot(
  plan: Float64Array,
  n: number,
  k: number,
  r: { iterations: number; converged: boolean; lastChange: number; state: P2otState },
): P2otResult {
  const q = new Float32Array(n * k);
  const clusterMass = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0, at = i * k; j < k; j++, at++) {
      const p = plan[at]!;
      q[at] = n * p;
      clusterMass[j]! += p;
    }
  }
  for (let j = 0; j < k; j++) total += clusterMass[j]!;
  return {
    pseudoLabels: tf.tensor2d(q, [n, k]),
    iterations: r.iterations,
    converged: r.converged,
    lastChange: r.lastChange,
    transportedMass: total,
    clusterMass,
    state: r.state,
  };
}

/**
 * The P²OT Sinkhorn loop (rhfeiyang/PPOT utils/sinkhorn_knopp.py `SemiCurrSinkhornKnopp`) in the log domain,
 * a = e^{la}, b = e^{lb}, on a float64 cost C (N×K, row-major).
 */
export function p2otCore(
  input: { cost: Float64Array } | { logits: ArrayLike<number> },
  n: number,
  k: number,
  o: ParsedP2ot,
): P2otCoreResult {
  const k1 = k + 1;
  const kernelOf = (): LogKernel => {
    if ('logits' in input && o.engine === 'float64') return HostKernel.fromLogits(input.logits, n, k, o.epsilon);
    const cost = 'cost' in input ? input.cost : costFromLogits(input.logits, n, k);
    const L = new Float64Array(n * k1);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) L[i * k1 + j] = -cost[i * k + j]! / o.epsilon;
      L[i * k1 + k] = 0;
    }
    return makeKernel(L, n, k1, o.engine);
  };
  let lb: Float64Array;
  if (o.warmStart) {
    if (o.warmStart.logB.length !== k1) {
      throw invalid('SHAPE_MISMATCH', 'options.warmStart', `logB of length ${k1}`, `length ${o.warmStart.logB.length}`);
    }
    lb = Float64Array.from(o.warmStart.logB);
  } else {
    lb = new Float64Array(k1).fill(Math.log(1 / k1));
  }
  const logPa = Math.log(1 / n);
  const logPb = new Float64Array(k1).fill(Math.log(o.rho / k));
  logPb[k] = Math.log(1 - o.rho);
  const fi = o.gamma / (o.gamma + o.epsilon);
  const kernel = kernelOf();
  try {
    let la: Float64Array;
    let rowPotentials: (() => Float64Array) | null = null;
    const logPaRows = new Float64Array(n).fill(logPa);
    let err = 1;
    let iterations = 0;
    while (err > o.tol && iterations < o.maxIter) {
      const pass = kernel.rowColLse(lb, logPaRows);
      const c = pass.c;
      rowPotentials = pass.u;
      const next = new Float64Array(logPb.length);
      for (let j = 0; j < next.length; j++) next[j] = logPb[j]! - c[j]!; // (a loop: TypedArray.map is ~4× slower)
      if (o.semiRelaxed) for (let j = 0; j < k; j++) next[j] = fi * next[j]!;
      err = expDistance(next, lb, o.stopRule === 'relative');
      lb = next;
      iterations++;
    }
    if (rowPotentials) la = rowPotentials();
    else la = kernel.rowLse(lb).map((x) => logPa - x);
    const plan = kernel.planHost(la, lb, 1, k);
    return { plan, iterations, converged: err <= o.tol, lastChange: err, state: { logB: lb } };
  } finally {
    kernel.dispose();
  }
}

/**
 * The P²OT problem of `p2otCore` solved by block coordinate ascent on its dual with the hard constraints met
 * exactly at every iterate (used by SP²OT, whose linearised costs make the plain loop stall):
 *
 *     R_i = LSE_{j ≤ K}(lb_j − Ĉ_ij/ε)                     (the real clusters' row sums)
 *     t   solves (1/N)·Σ_i σ(t − R_i) = 1 − ρ            (the virtual column, 1-D, monotone: safeguarded Newton)
 *     la_i = log(1/N) − LSE(R_i, t),  lb_{K+1} = t       (rows = 1/N and virtual column = 1 − ρ, both exact)
 *     lb_j = fi·(log Pb_j − LSE_i(la_i − Ĉ_ij/ε))  j ≤ K   (the reference's real-column update)
 *     stop when max_{j ≤ K} |Δ lb_j| ≤ tol                (relative change of each b_j: scale-free)
 *
 * The fixed point is the reference's (the same dual, the rows and the virtual column taken jointly), but every
 * returned plan transports exactly ρ, whereas the alternating loop stops with rows or the virtual column off when
 * |Ĉ/ε| reaches the thousands (SP²OT's default λ₁ on small banks: the mass drifted from 0.1 to 0.158, then b
 * overflowed to NaN).
 */
export function p2otCoreExact(cost: Float64Array, n: number, k: number, o: ParsedP2ot): P2otCoreResult {
  const k1 = k + 1;
  // The kernel holds the K real columns only: the virtual column (cost 0) enters through t in closed form.
  const L = new Float64Array(n * k);
  for (let i = 0; i < n * k; i++) L[i] = -cost[i]! / o.epsilon;
  let lb: Float64Array;
  if (o.warmStart) {
    if (o.warmStart.logB.length !== k1) {
      throw invalid('SHAPE_MISMATCH', 'options.warmStart', `logB of length ${k1}`, `length ${o.warmStart.logB.length}`);
    }
    lb = Float64Array.from(o.warmStart.logB);
  } else {
    lb = new Float64Array(k1).fill(Math.log(1 / k1));
  }
  if (lb.some((x) => !Number.isFinite(x) && x !== Number.NEGATIVE_INFINITY)) lb.fill(Math.log(1 / k1));
  const logPa = Math.log(1 / n);
  const logPb = Math.log(o.rho / k);
  const fi = o.semiRelaxed ? o.gamma / (o.gamma + o.epsilon) : 1;
  const kernel = makeKernel(L, n, k, o.engine);
  try {
    let la = new Float64Array(n);
    let err = Number.POSITIVE_INFINITY;
    let iterations = 0;
    const rowsAndVirtual = () => {
      const r = kernel.rowLse(lb.slice(0, k));
      const t = virtualPotential(r, o.rho, lb[k]!);
      lb[k] = t;
      la = r.map((ri) => logPa - lse2(ri, t));
    };
    while (iterations < o.maxIter) {
      rowsAndVirtual();
      const c = kernel.colLse(la);
      err = 0;
      for (let j = 0; j < k; j++) {
        const next = fi * (logPb - c[j]!);
        if (!Number.isFinite(next)) {
          throw invalid(
            'NON_FINITE',
            'options.epsilon',
            'an ε for which the P²OT potentials stay finite',
            `${o.epsilon}: log b[${j}] = ${next}`,
          );
        }
        err = Math.max(err, Math.abs(next - lb[j]!));
        lb[j] = next;
      }
      iterations++;
      if (err <= o.tol) break;
    }
    rowsAndVirtual(); // the returned plan meets rows and the virtual column exactly
    const plan = kernel.planHost(la, lb.slice(0, k), 1, k);
    return { plan, iterations, converged: err <= o.tol, lastChange: err, state: { logB: lb } };
  } finally {
    kernel.dispose();
  }
}

/** log(e^x + e^y). */
function lse2(x: number, y: number): number {
  if (x === Number.NEGATIVE_INFINITY) return y;
  if (y === Number.NEGATIVE_INFINITY) return x;
  const m = Math.max(x, y);
  return m + Math.log1p(Math.exp(-Math.abs(x - y)));
}

/**
 * The t with (1/N)·Σ_i σ(t − R_i) = 1 − ρ (−∞ when ρ = 1). F is increasing and bracketed by
 * [min R + logit(1 − ρ), max R + logit(1 − ρ)]; Newton from `start` (the previous t: one or two steps once the outer
 * loop settles), with bisection whenever a step would leave the bracket.
 */
export function virtualPotential(r: Float64Array, rho: number, start = Number.NaN): number {
  if (rho >= 1) return Number.NEGATIVE_INFINITY;
  const target = 1 - rho;
  const logit = Math.log(target) - Math.log(rho);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < r.length; i++) {
    lo = Math.min(lo, r[i]!);
    hi = Math.max(hi, r[i]!);
  }
  lo += logit;
  hi += logit;
  if (lo === hi) return lo;
  let t = start > lo && start < hi ? start : (lo + hi) / 2;
  const n = r.length;
  for (let it = 0; it < 200; it++) {
    let f = -target * n;
    let df = 0;
    for (let i = 0; i < n; i++) {
      const z = t - r[i]!;
      const e = Math.exp(-Math.abs(z));
      const s = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      f += s;
      df += s * (1 - s);
    }
    if (f === 0) return t;
    if (f > 0) hi = t;
    else lo = t;
    const newton = t - f / df;
    const inside = df > 0 && newton > lo && newton < hi;
    const next = inside ? newton : (lo + hi) / 2;
    const step = Math.abs(next - t);
    t = next;
    // a Newton step this small leaves an error of about its square: accept it without another evaluation
    if ((inside && step <= 1e-9 * Math.max(1, Math.abs(t))) || hi - lo <= 1e-13 * Math.max(1, Math.abs(t))) break;
  }
  return t;
}

/** ‖e^x − e^y‖₂ (divided by max e^x when relative) without overflow. */
function expDistance(x: Float64Array, y: Float64Array, relative: boolean): number {
  let m = Number.NEGATIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    m = Math.max(m, x[i]!, y[i]!);
    mx = Math.max(mx, x[i]!);
  }
  if (m === Number.NEGATIVE_INFINITY) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (Math.exp(x[i]! - m) - Math.exp(y[i]! - m)) ** 2;
  return Math.exp(relative ? m - mx : m) * Math.sqrt(s);
}

/** C = −log softmax(logits) in float64 from float32 logits (N×K row-major). */
export function costFromLogits(logits: ArrayLike<number>, n: number, k: number): Float64Array {
  const cost = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[i * k + j]! - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < k; j++) cost[i * k + j] = lse - logits[i * k + j]!;
  }
  return cost;
}
