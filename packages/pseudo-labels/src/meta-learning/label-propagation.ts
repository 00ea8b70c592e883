import { checkNumber, checkOptions, describeValue, invalid, type tf } from '@distillery/tensor';

export interface LabelPropagationOptions {
  /**
   * Entries kept per row before symmetrisation (`torch.topk(W, 20)`), default 20. With `selfLoops` (the default)
   * the row's own entry W_ii = exp(0) = 1 is the largest and counts among them, as in the official code; without,
   * k other neighbours are kept.
   */
  k?: number;
  /** Propagation strength α, default 0.99. */
  alpha?: number;
  /**
   * Per-sample scale σ_i (TPN learns it with a RelationNetwork on the embeddings): a number (default 1), one value
   * per sample, or 'auto': one σ with σ² = median_{i<j} mean_d(e_i − e_j)² / 4, so the median edge weight is e⁻² —
   * a data-scaled stand-in for TPN's learned scale.
   */
  sigma?: number | ArrayLike<number> | 'auto';
  /**
   * Keep the self-loops W_ii = exp(0) = 1 in the graph (default true, as branpent/gp-maml train.py
   * `LabelPropagation.forward`, which never zeroes the diagonal). `false`: W_ii = 0 before the top-k, so k
   * other neighbours are kept (what this function did before the option existed).
   */
  selfLoops?: boolean;
}

/**
 * Transductive label propagation (TPN, Liu et al. 2019, arXiv 1805.10002 §3.2.2; GP-MAML, arXiv 2207.04217, as
 * branpent/gp-maml LPAP/train.py `LabelPropagation.forward`, commit e98b351):
 *
 *     W_ij = exp(−mean_d((e_i/σ_i − e_j/σ_j)²) / 2)      (W_ii = 1 kept; 0 with selfLoops: false)
 *     keep the top-k entries of each row, symmetrised by union (W_ij kept if j ∈ kNN(i) or i ∈ kNN(j))
 *     S = D^−½ W D^−½,  D = rowsum(W)
 *     F = (I − αS)⁻¹ Y,   Y = [onehot(y_S); 0 for queries]
 *
 * The official code adds machine ε to D and to every entry of I − αS before inverting; at float64 that changes F by
 * about 1e-16 relative and is left out here.
 *
 * tfjs has no linear solve, so (I − αS) F = Y is solved on the host in float64 by Gauss–Jordan elimination with
 * partial pivoting (M = support + query ≤ a few hundred in few-shot episodes). The result is a constant [M, C]
 * score matrix (rows: support then query). `embeddings` rows are support samples first, then queries.
 */
export function labelPropagation(
  embeddings: tf.Tensor,
  supportLabels: ArrayLike<number>,
  numClasses: number,
  options?: LabelPropagationOptions,
): Float64Array {
  const opts = checkOptions<LabelPropagationOptions>(options, { k: true, alpha: true, sigma: true, selfLoops: true });
  if (!embeddings || typeof embeddings !== 'object' || typeof (embeddings as tf.Tensor).rank !== 'number') {
    throw invalid('INVALID_ARGUMENT', 'embeddings', 'a tensor [M, ...]', describeValue(embeddings));
  }
  if (embeddings.rank < 2) {
    throw invalid('INVALID_RANK', 'embeddings', 'a rank >= 2 tensor [M, ...]', `rank ${embeddings.rank}`);
  }
  const m = embeddings.shape[0]!;
  const d = embeddings.size / m;
  const c = checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
  const ns = supportLabels?.length;
  if (typeof ns !== 'number' || ns < 1 || ns > m) {
    throw invalid('INVALID_ARGUMENT', 'supportLabels', `between 1 and ${m} labels`, describeValue(supportLabels));
  }
  for (let i = 0; i < ns; i++) {
    const y = supportLabels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw invalid('OUT_OF_RANGE', 'supportLabels', `class ids in [0, ${c})`, `${y} at position ${i}`);
    }
  }
  if (opts.selfLoops !== undefined && typeof opts.selfLoops !== 'boolean') {
    throw invalid('INVALID_ARGUMENT', 'options.selfLoops', 'a boolean', describeValue(opts.selfLoops));
  }
  const selfLoops = opts.selfLoops ?? true;
  const k = Math.min(
    opts.k === undefined ? 20 : checkNumber(opts.k, 'options.k', { min: 1, integer: true }),
    selfLoops ? m : m - 1,
  );
  const alpha =
    opts.alpha === undefined ? 0.99 : checkNumber(opts.alpha, 'options.alpha', { min: 0, max: 1, minExclusive: true });
  const sig = new Float64Array(m);
  const e = embeddings.dataSync();
  for (let i = 0; i < e.length; i++) {
    if (!Number.isFinite(e[i]!))
      throw invalid('NON_FINITE', 'embeddings', 'finite values', `${e[i]} at flat index ${i}`);
  }
  const sigma = opts.sigma;
  if (sigma === 'auto') {
    sig.fill(Math.sqrt(medianPairDistance(e, m, d) / 4) || 1);
  } else if (sigma === undefined || typeof sigma === 'number') {
    sig.fill(sigma === undefined ? 1 : checkNumber(sigma, 'options.sigma', { min: 0, minExclusive: true }));
  } else {
    if (typeof sigma !== 'object' || sigma === null || typeof sigma.length !== 'number')
      throw invalid(
        'INVALID_ARGUMENT',
        'options.sigma',
        "a positive number, one per sample, or 'auto'",
        describeValue(sigma),
      );
    if (sigma.length !== m) throw invalid('SHAPE_MISMATCH', 'options.sigma', `${m} values`, describeValue(sigma));
    for (let i = 0; i < m; i++) sig[i] = checkNumber(sigma[i], `options.sigma[${i}]`, { min: 0, minExclusive: true });
  }
  const W = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    W[i * m + i] = selfLoops ? 1 : 0;
    for (let j = i + 1; j < m; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (e[i * d + t]! / sig[i]! - e[j * d + t]! / sig[j]!) ** 2;
      W[i * m + j] = W[j * m + i] = Math.exp(-s / d / 2);
    }
  }
  const keep = new Uint8Array(m * m);
  const order = Array.from({ length: m }, (_, j) => j);
  for (let i = 0; i < m; i++) {
    const row = (selfLoops ? [...order] : order.filter((j) => j !== i)).sort(
      (a, b) => W[i * m + b]! - W[i * m + a]! || a - b,
    );
    for (let t = 0; t < k; t++) {
      keep[i * m + row[t]!] = 1;
      keep[row[t]! * m + i] = 1;
    }
  }
  const deg = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (!keep[i * m + j]) W[i * m + j] = 0;
      deg[i]! += W[i * m + j]!;
    }
  }
  // A = I − α D^−½ W D^−½ ; right-hand side Y
  const A = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const s = deg[i]! > 0 && deg[j]! > 0 ? W[i * m + j]! / Math.sqrt(deg[i]! * deg[j]!) : 0;
      A[i * m + j] = (i === j ? 1 : 0) - alpha * s;
    }
  }
  const F = new Float64Array(m * c);
  for (let i = 0; i < ns; i++) F[i * c + supportLabels[i]!] = 1;
  gaussJordanSolve(A, F, m, c);
  return F;
}

/** Solves A X = B in place (B ← X) for an m×m A and m×c B, partial pivoting. */
export function gaussJordanSolve(A: Float64Array, B: Float64Array, m: number, c: number): void {
  checkNumber(m, 'm', { min: 1, integer: true });
  checkNumber(c, 'c', { min: 1, integer: true });
  if (!(A instanceof Float64Array) || A.length !== m * m) {
    throw invalid('SHAPE_MISMATCH', 'A', `a Float64Array of ${m}·${m} = ${m * m} values`, describeValue(A));
  }
  if (!(B instanceof Float64Array) || B.length !== m * c) {
    throw invalid('SHAPE_MISMATCH', 'B', `a Float64Array of ${m}·${c} = ${m * c} values`, describeValue(B));
  }
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(A[r * m + col]!) > Math.abs(A[piv * m + col]!)) piv = r;
    const p = A[piv * m + col]!;
    if (Math.abs(p) < 1e-300)
      throw invalid('INVALID_ARGUMENT', 'A', 'a non-singular matrix', `pivot ${p} in column ${col}`);
    if (piv !== col) {
      for (let j = 0; j < m; j++) [A[col * m + j], A[piv * m + j]] = [A[piv * m + j]!, A[col * m + j]!];
      for (let j = 0; j < c; j++) [B[col * c + j], B[piv * c + j]] = [B[piv * c + j]!, B[col * c + j]!];
    }
    for (let j = 0; j < m; j++) A[col * m + j]! /= p;
    for (let j = 0; j < c; j++) B[col * c + j]! /= p;
    for (let r = 0; r < m; r++) {
      if (r === col) continue;
      const f = A[r * m + col]!;
      if (f === 0) continue;
      for (let j = 0; j < m; j++) A[r * m + j]! -= f * A[col * m + j]!;
      for (let j = 0; j < c; j++) B[r * c + j]! -= f * B[col * c + j]!;
    }
  }
}

/** median over i < j of mean_d (e_i − e_j)²  (0 when M < 2). */
function medianPairDistance(e: ArrayLike<number>, m: number, d: number): number {
  const distances: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (e[i * d + t]! - e[j * d + t]!) ** 2;
      distances.push(s / d);
    }
  }
  if (distances.length === 0) return 0;
  distances.sort((a, b) => a - b);
  const mid = distances.length >> 1;
  return distances.length % 2 ? distances[mid]! : (distances[mid - 1]! + distances[mid]!) / 2;
}
