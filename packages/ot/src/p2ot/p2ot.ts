import { assertFinite, assertLogits, checkOptions, tf } from '@distillery/tensor';
import { P2OT_OPTIONS, type P2otOptions, type P2otState, p2otCore, parseP2otOptions } from './p2ot-core';

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

/**
 * P²OT pseudo-labels: progressive partial OT with a virtual cluster and KL-relaxed cluster marginals
 * (Zhang et al., ICLR 2024, arXiv 2401.09266; rhfeiyang/PPOT utils/sinkhorn_knopp.py `SemiCurrSinkhornKnopp`).
 *
 *     C = −log softmax(logits)  (float64, detached);   Ĉ = [C | 0]  (virtual cluster, cost 0)
 *     min_Q ⟨Q, C⟩ + ε·Σ Q log Q + λ·KL(Qᵀ1_N ‖ (ρ/K)·1_K)   s.t.  Q1_K ≤ 1/N,  1ᵀQ1 = ρ
 *
 * Solved as the reference does, in the log domain (f = ε log a, g = ε log b; here la = log a, lb = log b):
 *
 *     Pa_i = 1/N;  Pb_j = ρ/K (j ≤ K, KL-relaxed),  Pb_{K+1} = 1 − ρ (hard);  fi = λ/(λ + ε)
 *     lb = log(1/(K+1))  or the warm start
 *     repeat while err > tol and it < maxIter:
 *         la_i = log Pa_i − LSE_j(lb_j − Ĉ_ij/ε)
 *         lb_j = log Pb_j − LSE_i(la_i − Ĉ_ij/ε);   lb_j ← fi·lb_j for j ≤ K
 *         err = ‖e^{lb} − e^{lb_prev}‖₂
 *     Q = N·exp(la_i + lb_j − Ĉ_ij/ε), j ≤ K
 *
 * Stopping rule: the reference's (ℓ2 change of b, every iteration). float64 log domain: no overflow for small ε
 * (the reference's kernel form needs its `_stable` variant for that).
 * Defaults (official): ε 0.1, γ 1, maxIter 1000, tol 1e-6.
 */
export function p2ot(logits: tf.Tensor, options: P2otOptions): P2otResult {
  const o = parseP2otOptions(checkOptions<P2otOptions>(options, P2OT_OPTIONS));
  const [n, k] = assertLogits(logits, 'logits', 1);
  assertFinite(logits, 'logits');
  const r = p2otCore({ logits: logits.dataSync() as Float32Array }, n, k, o);
  return finishP2ot(r.plan, n, k, r);
}

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
