import type { tf } from '@distillery/tensor';
import { checkNumber, invalid } from '@distillery/tensor';
import { perClassAccuracy } from './classification';
import { classCountOf, pairLabels } from './inputs';

type Labels = ArrayLike<number> | tf.Tensor;

/**
 * Minimum-cost assignment of a rectangular cost matrix (rows ≤ or > columns), Kuhn–Munkres with potentials
 * (Jonker–Volgenant style shortest augmenting paths), O(n³). Returns `rowToCol[r]` (−1 for unassigned rows when
 * rows > columns); same optimum as scipy.optimize.linear_sum_assignment.
 */
export function linearSumAssignment(cost: number[][]): number[] {
  if (!Array.isArray(cost) || cost.length === 0)
    throw invalid('EMPTY_INPUT', 'cost', 'a non-empty matrix', String(cost));
  const R = cost.length;
  const C = cost[0]!.length;
  cost.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== C)
      throw invalid('SHAPE_MISMATCH', `cost[${i}]`, `${C} columns`, String(row?.length));
    row.forEach((v, j) => {
      checkNumber(v, `cost[${i}][${j}]`);
    });
  });
  const transpose = R > C;
  const a = transpose ? Array.from({ length: C }, (_, j) => cost.map((r) => r[j]!)) : cost;
  const n = a.length; // rows ≤ cols
  const m = a[0]!.length;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j] = row matched to column j (1-based), 0 none
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[i0 - 1]![j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j]! > 0) rowToCol[p[j]! - 1] = j - 1;
  if (!transpose) return rowToCol;
  const out = new Array<number>(R).fill(-1);
  rowToCol.forEach((r, c) => {
    if (r >= 0) out[r] = c;
  });
  return out;
}

export interface ClusteringAccuracy {
  /** (1/N)·Σ 1[map(pred_i) = y_i] after the Hungarian match. */
  accuracy: number;
  /** Mean per-class accuracy after the match (PPOT's reported mACC). */
  meanClassAccuracy: number;
  /** Per-class accuracies after the match. */
  perClass: number[];
  /** mapping[cluster] = matched class (−1 if unmatched). */
  mapping: number[];
  /** The remapped predictions. */
  remapped: number[];
}

/**
 * Clustering accuracy with Hungarian matching (rhfeiyang/PPOT utils/utils.py `_hungarian_match`): the count matrix
 * M[p, g] = #{pred = p, target = g}, the assignment maximising Σ M over matched pairs, then accuracy of the remapped
 * predictions. K = `numClasses` (default: max label + 1 of both).
 */
export function clusteringAccuracy(yTrue: Labels, yPred: Labels, numClasses?: number): ClusteringAccuracy {
  const [y, p] = pairLabels(yTrue, yPred);
  const K = classCountOf(y, p, numClasses);
  const M = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  for (let i = 0; i < y.length; i++) M[p[i]!]![y[i]!]!++;
  const mapping = linearSumAssignment(M.map((row) => row.map((v) => y.length - v)));
  const remapped = p.map((c) => mapping[c]!);
  let hit = 0;
  for (let i = 0; i < y.length; i++) if (remapped[i] === y[i]) hit++;
  const perClass = perClassAccuracy(y, remapped, K);
  const present = perClass.filter((v) => !Number.isNaN(v));
  return {
    accuracy: hit / y.length,
    meanClassAccuracy: present.reduce((a, b) => a + b, 0) / present.length,
    perClass,
    mapping,
    remapped,
  };
}

function contingency(
  y: number[],
  p: number[],
): { table: Map<string, number>; rows: Map<number, number>; cols: Map<number, number> } {
  const table = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < y.length; i++) {
    const k = `${y[i]},${p[i]}`;
    table.set(k, (table.get(k) ?? 0) + 1);
    rows.set(y[i]!, (rows.get(y[i]!) ?? 0) + 1);
    cols.set(p[i]!, (cols.get(p[i]!) ?? 0) + 1);
  }
  return { table, rows, cols };
}

/**
 * Normalised mutual information with arithmetic normalisation (sklearn normalized_mutual_info_score default):
 * NMI = I(Y; P) / ((H(Y) + H(P))/2), on raw cluster ids. 1 when both labelings are a single cluster (sklearn's special case).
 */
export function normalizedMutualInfo(yTrue: Labels, yPred: Labels): number {
  const [y, p] = pairLabels(yTrue, yPred);
  const N = y.length;
  const { table, rows, cols } = contingency(y, p);
  if (rows.size === 1 && cols.size === 1) return 1;
  void N;
  const entropy = (m: Map<number, number>) => {
    let h = 0;
    for (const c of m.values()) h -= (c / N) * Math.log(c / N);
    return h;
  };
  let mi = 0;
  for (const [k, n] of table) {
    const [a, b] = k.split(',').map(Number) as [number, number];
    mi += (n / N) * Math.log((N * n) / (rows.get(a)! * cols.get(b)!));
  }
  const hy = entropy(rows);
  const hp = entropy(cols);
  const denom = (hy + hp) / 2;
  if (denom === 0) return 1;
  return Math.max(0, mi) / denom;
}

/**
 * Adjusted Rand index (Hubert & Arabie 1985), as sklearn adjusted_rand_score (1.2) computes it from the pair
 * confusion matrix: ARI = 2(tp·tn − fn·fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)), and 1 when no pair is split
 * differently (fn = fp = 0: one sample, identical partitions up to renaming, one cluster each), on raw cluster ids.
 */
export function adjustedRandIndex(yTrue: Labels, yPred: Labels): number {
  const [y, p] = pairLabels(yTrue, yPred);
  const { table, rows, cols } = contingency(y, p);
  const n = y.length;
  let sumSquares = 0;
  for (const v of table.values()) sumSquares += v * v;
  let rowSquares = 0;
  for (const v of rows.values()) rowSquares += v * v;
  let colSquares = 0;
  for (const v of cols.values()) colSquares += v * v;
  // Ordered pairs (i ≠ j), as sklearn pair_confusion_matrix.
  const tp = sumSquares - n;
  const fp = colSquares - sumSquares;
  const fn = rowSquares - sumSquares;
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}
