import { assertFinite, assertLogits, checkNumber, checkOptions, invalid, type tf } from '@distillery/tensor';
import { type SparseSimilarity, toSparseSimilarity } from './knn-similarity';
import type { P2otResult } from './p2ot';
import {
  costFromLogits,
  finishP2ot,
  P2OT_OPTIONS,
  type P2otOptions,
  p2otCoreExact,
  parseP2otOptions,
} from './p2ot-core';

/** P²OT's options (but `stopRule`: the inner solver stops on max |Δ log b|) and the MM loop's. */
export interface Sp2otOptions extends Omit<P2otOptions, 'stopRule'> {
  /** Outer majorization–minimization iterations (`mm_iter_limit`), default 100. */
  mmIter?: number;
  /** Outer stop when |f(Q_t) − f(Q_{t−1})| < mmTol (`stoperr`), default 1e-6. */
  mmTol?: number;
  /** λ₁ = (1 − ρ)·mmFactor (`mm_factor`, lam_fix False), default 1000. */
  mmFactor?: number;
  /** Fixed λ₁ (the reference's `lam_fix`); overrides (1 − ρ)·mmFactor. */
  lambda?: number;
}

export interface Sp2otResult extends P2otResult {
  /** Outer MM iterations performed. */
  outerIterations: number;
  /** Inner Sinkhorn iterations summed over the outer loop. */
  innerIterations: number;
  /** Final objective f(Q) (Q not multiplied by N). */
  objective: number;
  lambda: number;
}

const FLOAT32_TINY = 1.1754943508222875e-38;

/**
 * SP²OT: P²OT with semantic regularisation (Zhang et al., arXiv 2404.03446; rhfeiyang/SPPOT
 * utils/sinkhorn_knopp.py `MMOT`), a majorization–minimization loop over P²OT solves:
 *
 *     f(Q) = ⟨Q, C⟩ − λ₁·⟨S, QQᵀ⟩ + ε·Σ Q log(Q + tiny),   λ₁ = (1 − ρ)·mmFactor
 *     Q⁰ = ρ/(N·K)·1
 *     repeat ≤ mmIter:
 *         C̃ = C − λ₁·(S + Sᵀ)·Q                       (linearised cost)
 *         Q = P²OT(C̃)  (plan not multiplied by N; b warm-started from the previous solve)
 *     until |f(Q_t) − f(Q_{t−1})| < mmTol
 *     return N·Q
 *
 * S is sparse (CSR from `knnGaussianSimilarity` / `similaritySubset`) or a dense [N, N] tensor; products with S
 * cost O(nnz·K). The inner solver (`p2otCoreExact`) solves the same P²OT problem as the reference's default
 * `sppot_stable` (SemiCurrSinkhornKnopp_stable) but meets the hard constraints (rows 1/N, virtual column 1 − ρ)
 * exactly at every iterate, so every returned Q transports exactly ρ and stays finite; it stops when
 * max_j |Δ log b_j| ≤ tol (default 1e-6; the reference's ‖Δb‖₂ ≤ 1e-10 on absorbed potentials). At the official
 * default λ₁ = (1 − ρ)·1000 on small banks the linearised cost C̃/ε reaches −10³…−10⁴, where the reference's
 * alternating loop stalls at its 1000 iterations with the wrong mass and then overflows to NaN; with tol 1e-10 our
 * result matches the official code to 1e-5 wherever the latter converges (test/p2ot-parity.test.ts).
 * Everything runs in float64 (the reference mixes float32 S and Q with a float64 cost).
 */
export function sp2ot(logits: tf.Tensor, similarity: SparseSimilarity | tf.Tensor, options: Sp2otOptions): Sp2otResult {
  const { stopRule: _, ...p2otKeys } = P2OT_OPTIONS;
  options = checkOptions<Sp2otOptions>(options, {
    ...p2otKeys,
    mmIter: true,
    mmTol: true,
    mmFactor: true,
    lambda: true,
  });
  const o = parseP2otOptions(options);
  const mmIter =
    options.mmIter === undefined ? 100 : checkNumber(options.mmIter, 'options.mmIter', { min: 1, integer: true });
  const mmTol =
    options.mmTol === undefined ? 1e-6 : checkNumber(options.mmTol, 'options.mmTol', { min: 0, minExclusive: true });
  const mmFactor =
    options.mmFactor === undefined ? 1000 : checkNumber(options.mmFactor, 'options.mmFactor', { min: 0 });
  const lambda =
    options.lambda === undefined ? (1 - o.rho) * mmFactor : checkNumber(options.lambda, 'options.lambda', { min: 0 });
  const [n, k] = assertLogits(logits, 'logits', 1);
  assertFinite(logits, 'logits');
  const s = toSparseSimilarity(similarity);
  if (s.n !== n)
    throw invalid('SHAPE_MISMATCH', 'similarity', `an [${n}, ${n}] similarity (N = logits rows)`, `N = ${s.n}`);
  const cost = costFromLogits(logits.dataSync() as Float32Array, n, k);
  let q: Float64Array = new Float64Array(n * k).fill(o.rho / (n * k));
  let fOld = objective(q, cost, s, lambda, o.epsilon, k);
  let fNew = fOld;
  let state = o.warmStart;
  let inner = 0;
  let outer = 0;
  let last = { iterations: 0, converged: false, lastChange: 0 };
  for (let t = 0; t < mmIter; t++) {
    const grad = symmetricProduct(s, q, k);
    const tmp = new Float64Array(n * k);
    for (let i = 0; i < n * k; i++) tmp[i] = cost[i]! - lambda * grad[i]!;
    const r = p2otCoreExact(tmp, n, k, { ...o, warmStart: state });
    state = r.state;
    inner += r.iterations;
    last = r;
    q = r.plan;
    outer = t + 1;
    fNew = objective(q, cost, s, lambda, o.epsilon, k);
    if (Math.abs(fNew - fOld) < mmTol) break;
    fOld = fNew;
  }
  const out = finishP2ot(q, n, k, { ...last, state: state! });
  return { ...out, outerIterations: outer, innerIterations: inner, objective: fNew, lambda };
}

/** (S + Sᵀ)·Q for CSR S and row-major Q (N×K). */
function symmetricProduct(s: SparseSimilarity, q: Float64Array, k: number): Float64Array {
  const out = new Float64Array(q.length);
  for (let i = 0; i < s.n; i++) {
    for (let e = s.rowPtr[i]!; e < s.rowPtr[i + 1]!; e++) {
      const j = s.indices[e]!;
      const w = s.values[e]!;
      for (let c = 0; c < k; c++) {
        out[i * k + c]! += w * q[j * k + c]!;
        out[j * k + c]! += w * q[i * k + c]!;
      }
    }
  }
  return out;
}

function objective(q: Float64Array, cost: Float64Array, s: SparseSimilarity, lambda: number, eps: number, k: number) {
  let lin = 0;
  let ent = 0;
  for (let i = 0; i < q.length; i++) {
    lin += q[i]! * cost[i]!;
    ent += q[i]! * Math.log(q[i]! + FLOAT32_TINY);
  }
  let quad = 0;
  for (let i = 0; i < s.n; i++) {
    for (let e = s.rowPtr[i]!; e < s.rowPtr[i + 1]!; e++) {
      const j = s.indices[e]!;
      let dot = 0;
      for (let c = 0; c < k; c++) dot += q[i * k + c]! * q[j * k + c]!;
      quad += s.values[e]! * dot;
    }
  }
  return lin - lambda * quad + eps * ent;
}
