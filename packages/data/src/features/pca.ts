import { assertFinite, assertRank, checkNumber, checkOptions, invalid, tf } from '@distillery/tensor';

export interface PcaOptions {
  /** How many principal components to keep, an integer in [1, D]. */
  components: number;
}

export interface PcaResult {
  /** The centred data projected on the components, float32 [N, components]. Caller disposes. */
  projected: tf.Tensor2D;
  /** The principal axes, row-major [components, D] (scikit-learn's `components_` layout), float32, orthonormal. */
  components: Float32Array;
  /** The variance along each component (eigenvalues of the N − 1 sample covariance), decreasing. */
  explainedVariance: Float64Array;
  /** The share of the total variance the kept components explain: Σ kept eigenvalues / trace of the covariance. */
  explainedVarianceRatio: number;
}

/**
 * Principal component analysis of the rows of `x` [N, D]: the top eigenvectors of the sample covariance
 * (N − 1 denominator, as numpy/scikit-learn), found by cyclic Jacobi rotations on the D×D matrix in float64 on the
 * host (the covariance itself is computed in float32 by tfjs). Signs of the components are whatever Jacobi gives
 * (scikit-learn flips them by its own convention); projections and variances do not depend on them.
 * Meant for small D (the cost is O(D³) per sweep, at most 50 sweeps).
 */
export function pca(x: tf.Tensor, options: PcaOptions): PcaResult {
  const { components: dim } = checkOptions<PcaOptions>(options, { components: true });
  const [n, d] = assertRank(x, 2, 'x').shape as [number, number];
  if (n < 2) throw invalid('INVALID_ARGUMENT', 'x', 'at least 2 rows (the covariance divides by N − 1)', `${n}`);
  checkNumber(dim, 'options.components', { min: 1, max: d, integer: true });
  assertFinite(x, 'x');
  const cov = tf.tidy(() => {
    const xc = tf.sub(x, tf.mean(x, 0));
    return tf.div(tf.matMul(xc, xc, true, false), n - 1);
  });
  const a = Float64Array.from(cov.dataSync());
  cov.dispose();
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    if (off < 1e-20) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[j * d + j]! - a[i * d + i]!);
  const basis = new Float32Array(d * dim);
  for (let k = 0; k < dim; k++) for (let i = 0; i < d; i++) basis[i * dim + k] = v[i * d + order[k]!]!;
  let total = 0;
  let kept = 0;
  for (let i = 0; i < d; i++) total += a[i * d + i]!;
  for (let k = 0; k < dim; k++) kept += a[order[k]! * d + order[k]!]!;
  const explainedVariance = Float64Array.from({ length: dim }, (_, k) => a[order[k]! * d + order[k]!]!);
  const componentsRowMajor = new Float32Array(dim * d);
  for (let k = 0; k < dim; k++) for (let i = 0; i < d; i++) componentsRowMajor[k * d + i] = basis[i * dim + k]!;
  const projected = tf.tidy(() => tf.matMul(tf.sub(x, tf.mean(x, 0)), tf.tensor2d(basis, [d, dim]))) as tf.Tensor2D;
  return { projected, components: componentsRowMajor, explainedVariance, explainedVarianceRatio: kept / total };
}
