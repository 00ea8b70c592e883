import { assertFinite, assertRank, checkNumber, checkOptions, invalid, tf } from '@distillery/tensor';
import { symmetricEigen } from './symmetric-eigen';

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
 * (N − 1 denominator, as numpy/scikit-learn), found by `symmetricEigen` (Householder tridiagonalisation + implicit
 * QL) of the D×D matrix in float64 on the host (the covariance itself is computed in float32 by tfjs). Each
 * component's largest-magnitude entry is positive (scikit-learn's svd_flip with u_based_decision=False). The cost is O(D³) once: D = 784 (28×28 pixels) takes about two seconds.
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
  const { values, vectors } = symmetricEigen(Float64Array.from(cov.dataSync()), d);
  cov.dispose();
  // Fixed signs (scikit-learn's svd_flip with u_based_decision=False): each component's largest-magnitude entry is
  // positive, so the features do not depend on the eigensolver's arbitrary signs.
  for (let k = 0; k < dim; k++) {
    let at = k * d;
    for (let i = k * d; i < (k + 1) * d; i++) if (Math.abs(vectors[i]!) > Math.abs(vectors[at]!)) at = i;
    if (vectors[at]! < 0) for (let i = k * d; i < (k + 1) * d; i++) vectors[i] = -vectors[i]!;
  }
  const componentsRowMajor = Float32Array.from(vectors.subarray(0, dim * d));
  const basis = new Float32Array(d * dim); // [D, components]: the components as columns, for the projection
  for (let k = 0; k < dim; k++) for (let i = 0; i < d; i++) basis[i * dim + k] = vectors[k * d + i]!;
  let total = 0;
  for (let i = 0; i < d; i++) total += values[i]!;
  const explainedVariance = values.slice(0, dim);
  const kept = explainedVariance.reduce((sum, value) => sum + value, 0);
  const projected = tf.tidy(() => tf.matMul(tf.sub(x, tf.mean(x, 0)), tf.tensor2d(basis, [d, dim]))) as tf.Tensor2D;
  return { projected, components: componentsRowMajor, explainedVariance, explainedVarianceRatio: kept / total };
}
