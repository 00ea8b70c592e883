import { assertFinite, assertLogits, checkOptions, type tf } from '@distillery/tensor';
import { finishP2ot, P2OT_OPTIONS, type P2otOptions, type P2otResult, p2otCore, parseP2otOptions } from './p2ot-core';

export type { P2otResult } from './p2ot-core';

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
