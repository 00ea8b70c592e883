import { assertFinite, assertRank, checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';

/**
 * Sparse N×N similarity in CSR form (row i's entries are `indices[rowPtr[i] .. rowPtr[i+1])`). Not symmetric in
 * general (kNN keeps the top k of each row).
 */
export interface SparseSimilarity {
  n: number;
  rowPtr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

export interface KnnGaussianSimilarityOptions {
  /** Neighbours kept per row (`topk_similarity`), default 20. */
  k?: number;
  /** Kernel width (`kernel_param`), default 2. */
  sigma?: number;
  /** Rows per block of the distance computation, default 1024 (memory is blockSize × N floats). */
  blockSize?: number;
}

/**
 * kNN Gaussian sample similarity of SP²OT (rhfeiyang/SPPOT utils/structure.py `get_dataset_feature_similarity`,
 * kernel 'gauss', similarity_type ['rmDiag', 'knn']):
 *
 *     S_ij = exp(−‖f_i − f_j‖² / (2·σ²·D)),   D = feature dimension
 *     S_ii = 0;  keep the k largest entries of each row, the rest are 0
 *
 * Computed block by block (blockSize rows against all N with a matMul, then topk), so the dense N×N matrix is never
 * materialised; the result is sparse (N·k entries). Distances use ‖x‖² + ‖y‖² − 2x·y in float32 (as torch.cdist does
 * for large inputs). Defaults (official): k 20, σ 2.
 */
export function knnGaussianSimilarity(
  features: tf.Tensor,
  options: KnnGaussianSimilarityOptions = {},
): SparseSimilarity {
  options = checkOptions<KnnGaussianSimilarityOptions>(options, { k: true, sigma: true, blockSize: true });
  const x = assertRank(features, 2, 'features') as tf.Tensor2D;
  const [n, d] = x.shape;
  if (n < 2 || d < 1) throw invalid('EMPTY_INPUT', 'features', 'at least 2 rows and 1 column', `shape [${n}, ${d}]`);
  assertFinite(x, 'features');
  const k = options.k === undefined ? 20 : checkNumber(options.k, 'options.k', { min: 1, integer: true });
  if (k > n - 1) throw invalid('OUT_OF_RANGE', 'options.k', `at most N − 1 = ${n - 1}`, String(k));
  const sigma =
    options.sigma === undefined ? 2 : checkNumber(options.sigma, 'options.sigma', { min: 0, minExclusive: true });
  const blockSize =
    options.blockSize === undefined
      ? 1024
      : checkNumber(options.blockSize, 'options.blockSize', { min: 1, integer: true });
  const scale = -1 / (2 * sigma * sigma * d);
  const indices = new Int32Array(n * k);
  const values = new Float64Array(n * k);
  const xf = tf.cast(x, 'float32');
  const sq = tf.tidy(() => tf.sum(tf.square(xf), 1));
  try {
    for (let start = 0; start < n; start += blockSize) {
      const rows = Math.min(blockSize, n - start);
      const { vals, idx } = tf.tidy(() => {
        const xb = tf.slice(xf, [start, 0], [rows, d]);
        const sqb = tf.slice(sq, [start], [rows]);
        const d2 = tf.relu(
          tf.sub(tf.add(tf.reshape(sqb, [rows, 1]), tf.reshape(sq, [1, n])), tf.mul(2, tf.matMul(xb, xf, false, true))),
        );
        const s = tf.exp(tf.mul(d2, scale));
        const diag = tf.oneHot(tf.range(start, start + rows, 1, 'int32'), n);
        const masked = tf.mul(s, tf.sub(1, diag));
        const top = tf.topk(masked, k);
        return { vals: top.values, idx: top.indices };
      });
      values.set(vals.dataSync(), start * k);
      indices.set(idx.dataSync() as Int32Array, start * k);
      vals.dispose();
      idx.dispose();
    }
  } finally {
    sq.dispose();
    if (xf !== x) xf.dispose();
  }
  const rowPtr = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) rowPtr[i] = i * k;
  return { n, rowPtr, indices, values };
}

/** Dense [N, N] tensor (or nested array) → CSR of its non-zero entries. */
export function toSparseSimilarity(
  similarity: tf.Tensor | SparseSimilarity,
  argument = 'similarity',
): SparseSimilarity {
  if (!(similarity instanceof tf.Tensor)) {
    const s = similarity as SparseSimilarity;
    if (
      !s ||
      typeof s.n !== 'number' ||
      !(s.rowPtr instanceof Int32Array) ||
      !(s.indices instanceof Int32Array) ||
      !(s.values instanceof Float64Array) ||
      s.rowPtr.length !== s.n + 1 ||
      s.indices.length !== s.values.length
    ) {
      throw invalid(
        'INVALID_ARGUMENT',
        argument,
        'a SparseSimilarity (CSR) or a dense [N, N] tensor',
        describeValue(s),
      );
    }
    for (let i = 0; i < s.values.length; i++) {
      if (!Number.isFinite(s.values[i]!)) {
        throw invalid('NON_FINITE', argument, 'finite similarities', `${s.values[i]} at entry ${i}`);
      }
    }
    return s;
  }
  const t = assertRank(similarity, 2, argument);
  const [n, m] = t.shape as [number, number];
  if (n !== m) throw invalid('SHAPE_MISMATCH', argument, 'a square [N, N] matrix', `shape [${n}, ${m}]`);
  const data = t.dataSync();
  const rowPtr = new Int32Array(n + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = data[i * n + j]!;
      if (!Number.isFinite(v)) throw invalid('NON_FINITE', argument, 'finite similarities', `${v} at [${i}, ${j}]`);
      if (v !== 0) {
        idx.push(j);
        val.push(v);
      }
    }
    rowPtr[i + 1] = idx.length;
  }
  return { n, rowPtr, indices: Int32Array.from(idx), values: Float64Array.from(val) };
}

/**
 * S[idx][:, idx] (the reference's `Similarity_matrix.__call__`): the similarity among the samples currently in the
 * memory bank, in bank order.
 */
export function similaritySubset(similarity: SparseSimilarity, idx: ArrayLike<number>): SparseSimilarity {
  const s = toSparseSimilarity(similarity);
  const where = new Map<number, number[]>();
  for (let p = 0; p < idx.length; p++) {
    const g = idx[p]!;
    if (!Number.isInteger(g) || g < 0 || g >= s.n) {
      throw invalid('OUT_OF_RANGE', 'idx', `integers in [0, ${s.n})`, `${g} at position ${p}`);
    }
    const list = where.get(g);
    if (list) list.push(p);
    else where.set(g, [p]);
  }
  const rowPtr = new Int32Array(idx.length + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < idx.length; r++) {
    const g = idx[r]!;
    for (let e = s.rowPtr[g]!; e < s.rowPtr[g + 1]!; e++) {
      const cols = where.get(s.indices[e]!);
      if (!cols) continue;
      for (const c of cols) {
        indices.push(c);
        values.push(s.values[e]!);
      }
    }
    rowPtr[r + 1] = indices.length;
  }
  return { n: idx.length, rowPtr, indices: Int32Array.from(indices), values: Float64Array.from(values) };
}
