/** Eigenvalues (decreasing) and eigenvectors of a symmetric matrix. */
export interface SymmetricEigen {
  /** The eigenvalues, largest first. */
  values: Float64Array;
  /** Row-major [d, d]: row i is the unit eigenvector of `values[i]`. */
  vectors: Float64Array;
}

/**
 * All eigenpairs of the symmetric d×d matrix `a` (row-major, float64; only read): Householder reduction to
 * tridiagonal form, then the implicit QL method with Wilkinson shifts (EISPACK tred2 / tql2, as in JAMA's
 * EigenvalueDecomposition; Golub & Van Loan §8.3). About 4·d³ flops once, where cyclic Jacobi needs ~6·d³ per sweep
 * and several sweeps (d = 784, Fashion-MNIST's pixels: about 2 s against 40 s).
 */
export function symmetricEigen(a: Float64Array, d: number): SymmetricEigen {
  const v = Float64Array.from(a.subarray(0, d * d)); // V, row-major; becomes the Householder product
  const diag = new Float64Array(d);
  const off = new Float64Array(d);
  householderTridiagonal(v, diag, off, d);
  // tql2 rotates columns of V: work on W = Vᵀ, whose rows are those columns (contiguous in memory).
  const w = new Float64Array(d * d);
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) w[c * d + r] = v[r * d + c]!;
  tridiagonalQl(diag, off, w, d);
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => diag[j]! - diag[i]!);
  const values = Float64Array.from(order, (i) => diag[i]!);
  const vectors = new Float64Array(d * d);
  order.forEach((i, rank) => {
    vectors.set(w.subarray(i * d, (i + 1) * d), rank * d);
  });
  return { values, vectors };
}

/** tred2: V ← the orthogonal Q with QᵀAQ tridiagonal; diag / off ← its diagonal and sub-diagonal (off[0] = 0). */
function householderTridiagonal(v: Float64Array, diag: Float64Array, off: Float64Array, n: number) {
  const at = (r: number, c: number) => v[r * n + c]!;
  for (let j = 0; j < n; j++) diag[j] = at(n - 1, j);
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(diag[k]!);
    if (scale === 0) {
      off[i] = diag[i - 1]!;
      for (let j = 0; j < i; j++) {
        diag[j] = at(i - 1, j);
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      // The Householder vector that zeroes row i left of the sub-diagonal.
      for (let k = 0; k < i; k++) {
        diag[k]! /= scale;
        h += diag[k]! * diag[k]!;
      }
      let f = diag[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      off[i] = scale * g;
      h -= f * g;
      diag[i - 1] = f - g;
      for (let j = 0; j < i; j++) off[j] = 0;
      // Apply the similarity transformation to the remaining columns.
      for (let j = 0; j < i; j++) {
        f = diag[j]!;
        v[j * n + i] = f;
        g = off[j]! + at(j, j) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += at(k, j) * diag[k]!;
          off[k]! += at(k, j) * f;
        }
        off[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        off[j]! /= h;
        f += off[j]! * diag[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) off[j]! -= hh * diag[j]!;
      for (let j = 0; j < i; j++) {
        f = diag[j]!;
        g = off[j]!;
        for (let k = j; k <= i - 1; k++) v[k * n + j]! -= f * off[k]! + g * diag[k]!;
        diag[j] = at(i - 1, j);
        v[i * n + j] = 0;
      }
    }
    diag[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    v[(n - 1) * n + i] = at(i, i);
    v[i * n + i] = 1;
    const h = diag[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) diag[k] = at(k, i + 1) / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += at(k, i + 1) * at(k, j);
        for (let k = 0; k <= i; k++) v[k * n + j]! -= g * diag[k]!;
      }
    }
    for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    diag[j] = at(n - 1, j);
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  off[0] = 0;
}

/**
 * tql2: the eigenvalues of the symmetric tridiagonal (diag, off) into `diag`, the rotations applied to the rows of
 * `w` (the transposed Householder product), so that row i of `w` ends as the eigenvector of diag[i]. Each eigenvalue
 * is deflated when its off-diagonal entry falls below machine epsilon times the largest |d| + |e| seen; 30 sweeps per
 * eigenvalue at most (the QL method converges cubically; more means non-finite input).
 */
function tridiagonalQl(diag: Float64Array, off: Float64Array, w: Float64Array, n: number) {
  for (let i = 1; i < n; i++) off[i - 1] = off[i]!;
  off[n - 1] = 0;
  let shift = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(diag[l]!) + Math.abs(off[l]!));
    let m = l;
    while (m < n && Math.abs(off[m]!) > eps * tst1) m++;
    if (m > l) {
      let sweeps = 0;
      do {
        if (++sweeps > 30) throw new Error(`symmetricEigen: no convergence for eigenvalue ${l} (non-finite input?)`);
        // Wilkinson shift from the leading 2×2 block.
        let g = diag[l]!;
        let p = (diag[l + 1]! - g) / (2 * off[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        diag[l] = off[l]! / (p + r);
        diag[l + 1] = off[l]! * (p + r);
        const dl1 = diag[l + 1]!;
        let h = g - diag[l]!;
        for (let i = l + 2; i < n; i++) diag[i]! -= h;
        shift += h;
        // Implicit QL sweep from m up to l.
        p = diag[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = off[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * off[i]!;
          h = c * p;
          r = Math.hypot(p, off[i]!);
          off[i + 1] = s * r;
          s = off[i]! / r;
          c = p / r;
          p = c * diag[i]! - s * g;
          diag[i + 1] = h + s * (c * g + s * diag[i]!);
          const rowI = i * n;
          const rowNext = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const wNext = w[rowNext + k]!;
            const wI = w[rowI + k]!;
            w[rowNext + k] = s * wI + c * wNext;
            w[rowI + k] = c * wI - s * wNext;
          }
        }
        p = (-s * s2 * c3 * el1 * off[l]!) / dl1;
        off[l] = s * p;
        diag[l] = c * p;
      } while (Math.abs(off[l]!) > eps * tst1);
    }
    diag[l] = diag[l]! + shift;
    off[l] = 0;
  }
}
