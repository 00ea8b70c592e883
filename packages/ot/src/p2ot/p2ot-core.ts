import { checkNumber, describeValue, invalid } from '@distillery/tensor';
import { HostKernel, type LogKernel, makeKernel, type OtEngine } from '../internal/kernel';
import { parseEngine, parseIterations, parsePositive } from '../internal/validate';

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
   * 'absolute' (P²OT default, the reference's): stop when ‖b − b_prev‖₂ ≤ tol. 'relative' (SP²OT default): stop when
   * ‖b − b_prev‖₂ / max_j b_j ≤ tol — scale-free, needed when the linearised SP²OT cost is very negative and b is
   * astronomically small or large (the reference's `_stable` variant measures b against absorbed potentials instead).
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

export function parseP2otOptions(
  options: P2otOptions | undefined,
  defaultStopRule: 'absolute' | 'relative' = 'absolute',
): ParsedP2ot {
  if (options === null || typeof options !== 'object') {
    throw invalid('INVALID_ARGUMENT', 'options', 'an options object with rho', describeValue(options));
  }
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
  const stopRule = options.stopRule ?? defaultStopRule;
  if (stopRule !== 'absolute' && stopRule !== 'relative') {
    throw invalid('INVALID_ARGUMENT', 'options.stopRule', "'absolute' or 'relative'", describeValue(stopRule));
  }
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
