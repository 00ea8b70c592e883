import { assertFinite, assertRank, checkNumber, checkOptions, createRng, invalid, type tf } from '@distillery/tensor';

export interface KMeansOptions {
  /** Number of clusters. Required. */
  k: number;
  /** Lloyd iterations at most, default 300 (sklearn). */
  maxIter?: number;
  /** Stop when the squared centroid shift summed over centroids ≤ tol · mean feature variance, default 1e-4. */
  tol?: number;
  /** Independent k-means++ restarts; the lowest inertia wins. Default 1. */
  nInit?: number;
  /** Seed of the k-means++ sampling, default 0. */
  seed?: number;
}

export interface KMeansResult {
  assignments: Int32Array;
  /** Row-major k×D centroids (float64). */
  centroids: Float64Array;
  /** Σ squared distance to the assigned centroid. */
  inertia: number;
  iterations: number;
}

/**
 * k-means (Lloyd) with greedy k-means++ seeding (Arthur & Vassilvitskii 2007; sklearn's `_kmeans_plusplus` with
 * 2 + ⌊ln k⌋ local trials per centre), on the host in float64. A baseline for the OT clustering methods.
 */
export function kmeans(features: tf.Tensor, options: KMeansOptions): KMeansResult {
  options = checkOptions<KMeansOptions>(options, { k: true, maxIter: true, tol: true, nInit: true, seed: true });
  const x = assertRank(features, 2, 'features');
  assertFinite(x, 'features');
  const [n, d] = x.shape as [number, number];
  const k = checkNumber(options.k, 'options.k', { min: 1, integer: true });
  if (k > n) throw invalid('OUT_OF_RANGE', 'options.k', `at most N = ${n}`, String(k));
  const maxIter =
    options.maxIter === undefined ? 300 : checkNumber(options.maxIter, 'options.maxIter', { min: 1, integer: true });
  const tol = options.tol === undefined ? 1e-4 : checkNumber(options.tol, 'options.tol', { min: 0 });
  const nInit =
    options.nInit === undefined ? 1 : checkNumber(options.nInit, 'options.nInit', { min: 1, integer: true });
  const rng = createRng(options.seed === undefined ? 0 : checkNumber(options.seed, 'options.seed', { integer: true }));
  const data = new Float64Array(x.dataSync());
  // sklearn scales tol by the mean per-feature variance
  let variance = 0;
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += data[i * d + j]!;
    m /= n;
    for (let i = 0; i < n; i++) variance += (data[i * d + j]! - m) ** 2;
  }
  const scaledTol = (tol * variance) / (n * d);
  let best: KMeansResult | null = null;
  for (let run = 0; run < nInit; run++) {
    const r = lloyd(data, n, d, seedPlusPlus(data, n, d, k, rng), k, maxIter, scaledTol);
    if (!best || r.inertia < best.inertia) best = r;
  }
  return best!;
}

function sqDist(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (a[ai * d + j]! - b[bi * d + j]!) ** 2;
  return s;
}

function seedPlusPlus(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  rng: ReturnType<typeof createRng>,
): Float64Array {
  const centers = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.int(n);
  centers.set(x.subarray(first * d, (first + 1) * d), 0);
  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = sqDist(x, i, centers, 0, d);
  let pot = closest.reduce((a, b) => a + b, 0);
  for (let c = 1; c < k; c++) {
    let bestCand = -1;
    let bestPot = Number.POSITIVE_INFINITY;
    let bestClosest: Float64Array | null = null;
    for (let t = 0; t < trials; t++) {
      // sample proportionally to the current squared distances
      let r = rng.uniform() * pot;
      let cand = n - 1;
      for (let i = 0; i < n; i++) {
        r -= closest[i]!;
        if (r <= 0) {
          cand = i;
          break;
        }
      }
      const next = new Float64Array(n);
      let p = 0;
      for (let i = 0; i < n; i++) {
        next[i] = Math.min(closest[i]!, sqDist(x, i, x, cand, d));
        p += next[i]!;
      }
      if (p < bestPot) {
        bestPot = p;
        bestCand = cand;
        bestClosest = next;
      }
    }
    centers.set(x.subarray(bestCand * d, (bestCand + 1) * d), c * d);
    closest.set(bestClosest!);
    pot = bestPot;
  }
  return centers;
}

function lloyd(
  x: Float64Array,
  n: number,
  d: number,
  centers: Float64Array,
  k: number,
  maxIter: number,
  tol: number,
): KMeansResult {
  const assign = new Int32Array(n);
  let iterations = 0;
  for (let it = 0; it < maxIter; it++) {
    iterations = it + 1;
    for (let i = 0; i < n; i++) {
      let bi = 0;
      let bd = Number.POSITIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const dist = sqDist(x, i, centers, c, d);
        if (dist < bd) {
          bd = dist;
          bi = c;
        }
      }
      assign[i] = bi;
    }
    const next = new Float64Array(k * d);
    const count = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      count[assign[i]!]!++;
      for (let j = 0; j < d; j++) next[assign[i]! * d + j]! += x[i * d + j]!;
    }
    let shift = 0;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < d; j++) {
        // an empty cluster keeps its centre
        const v = count[c]! > 0 ? next[c * d + j]! / count[c]! : centers[c * d + j]!;
        shift += (v - centers[c * d + j]!) ** 2;
        next[c * d + j] = v;
      }
    }
    centers = next;
    if (shift <= tol) break;
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let bi = 0;
    let bd = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const dist = sqDist(x, i, centers, c, d);
      if (dist < bd) {
        bd = dist;
        bi = c;
      }
    }
    assign[i] = bi;
    inertia += bd;
  }
  return { assignments: assign, centroids: centers, inertia, iterations };
}
