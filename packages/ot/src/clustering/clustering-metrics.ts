import { describeValue, invalid } from '@distillery/tensor';
import { linearSumAssignment } from './hungarian';

export interface ClusteringAccuracy {
  /** Overall accuracy after Hungarian matching: (1/N)·Σ 1[remap(pred_i) = y_i]. */
  accuracy: number;
  /** Mean of per-class accuracies after matching (PPOT's `hungarian_evaluate` mACC). */
  meanClassAccuracy: number;
  /** Macro F1 of the remapped predictions (zero_division = 0). */
  macroF1: number;
  /** remap[p] = the class matched to cluster p. */
  remap: Int32Array;
}

function readIds(x: ArrayLike<number>, argument: string): Int32Array {
  if (!x || typeof x.length !== 'number' || x.length === 0) {
    throw invalid('INVALID_ARGUMENT', argument, 'a non-empty array of non-negative integer ids', describeValue(x));
  }
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isInteger(v) || v < 0)
      throw invalid('INVALID_ARGUMENT', argument, 'non-negative integer ids', `${v} at ${i}`);
    out[i] = v;
  }
  return out;
}

/**
 * Clustering accuracy with Hungarian matching (rhfeiyang/PPOT utils/utils.py `_hungarian_match`,
 * utils/evaluate_utils.py `hungarian_evaluate`): count matrix M[p, g] = #{i : pred_i = p, y_i = g}, assignment
 * maximising Σ M over matched pairs (linear sum assignment on N − M), predictions remapped to their matched class.
 * Cluster and class ids may differ in number (the matrix is padded square).
 */
export function clusteringAccuracy(predictions: ArrayLike<number>, targets: ArrayLike<number>): ClusteringAccuracy {
  const pred = readIds(predictions, 'predictions');
  const y = readIds(targets, 'targets');
  if (pred.length !== y.length) {
    throw invalid('SHAPE_MISMATCH', 'targets', `${pred.length} labels (one per prediction)`, `${y.length}`);
  }
  const n = pred.length;
  const k = Math.max(Math.max(...pred), Math.max(...y)) + 1;
  const m = new Float64Array(k * k);
  for (let i = 0; i < n; i++) m[pred[i]! * k + y[i]!]!++;
  const cost = m.map((v) => n - v);
  const remap = linearSumAssignment(cost, k);
  const classCount = new Float64Array(k);
  const classHit = new Float64Array(k);
  const predCount = new Float64Array(k);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const r = remap[pred[i]!]!;
    classCount[y[i]!]!++;
    predCount[r]!++;
    if (r === y[i]) {
      hits++;
      classHit[r]!++;
    }
  }
  let accSum = 0;
  let classes = 0;
  let f1Sum = 0;
  for (let c = 0; c < k; c++) {
    if (classCount[c]! > 0) {
      accSum += classHit[c]! / classCount[c]!;
      classes++;
    }
    const precision = predCount[c]! > 0 ? classHit[c]! / predCount[c]! : 0;
    const recall = classCount[c]! > 0 ? classHit[c]! / classCount[c]! : 0;
    if (classCount[c]! > 0 || predCount[c]! > 0) {
      f1Sum += precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    }
  }
  let present = 0;
  for (let c = 0; c < k; c++) if (classCount[c]! > 0 || predCount[c]! > 0) present++;
  return { accuracy: hits / n, meanClassAccuracy: accSum / classes, macroF1: f1Sum / present, remap };
}

/** Normalised mutual information (arithmetic normalisation, sklearn's default) on raw ids. */
export function normalizedMutualInfo(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  const { table, rows, cols, n } = contingency(predictions, targets);
  let mi = 0;
  for (const [key, nij] of table) {
    const [a, b] = key;
    mi += (nij / n) * Math.log((n * nij) / (rows[a]! * cols[b]!));
  }
  const h = (xs: Float64Array) => -xs.reduce((s, x) => (x > 0 ? s + (x / n) * Math.log(x / n) : s), 0);
  const hy = h(rows);
  const hp = h(cols);
  const denom = (hy + hp) / 2;
  return denom > 0 ? Math.max(mi, 0) / denom : 1;
}

/** Adjusted Rand index on raw ids. */
export function adjustedRandIndex(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  const { table, rows, cols, n } = contingency(predictions, targets);
  const c2 = (x: number) => (x * (x - 1)) / 2;
  let sumIJ = 0;
  for (const nij of table.values()) sumIJ += c2(nij);
  const sumA = rows.reduce((s, x) => s + c2(x), 0);
  const sumB = cols.reduce((s, x) => s + c2(x), 0);
  const expected = (sumA * sumB) / c2(n);
  const max = (sumA + sumB) / 2;
  return max === expected ? 1 : (sumIJ - expected) / (max - expected);
}

function contingency(predictions: ArrayLike<number>, targets: ArrayLike<number>) {
  const p = readIds(predictions, 'predictions');
  const y = readIds(targets, 'targets');
  if (p.length !== y.length) throw invalid('SHAPE_MISMATCH', 'targets', `${p.length} labels`, `${y.length}`);
  const kp = Math.max(...p) + 1;
  const ky = Math.max(...y) + 1;
  const rows = new Float64Array(kp);
  const cols = new Float64Array(ky);
  const counts = new Map<number, number>();
  for (let i = 0; i < p.length; i++) {
    rows[p[i]!]!++;
    cols[y[i]!]!++;
    const key = p[i]! * ky + y[i]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const table = new Map<[number, number], number>();
  for (const [key, v] of counts) table.set([Math.floor(key / ky), key % ky], v);
  return { table, rows, cols, n: p.length };
}
