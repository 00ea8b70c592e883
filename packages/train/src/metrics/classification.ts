import type { tf } from '@distillery/tensor';
import { checkNumber, checkOptions, invalid } from '@distillery/tensor';
import { classCountOf, pairLabels, toLabels, toMatrix, toScores } from './inputs';

type Labels = ArrayLike<number> | tf.Tensor;

/** Confusion matrix M[t][p] = #{i : yTrue_i = t, yPred_i = p} (sklearn confusion_matrix: rows true, columns pred). */
export function confusionMatrix(yTrue: Labels, yPred: Labels, numClasses?: number): number[][] {
  const [a, b] = pairLabels(yTrue, yPred);
  const C = classCountOf(a, b, numClasses);
  const m = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let i = 0; i < a.length; i++) m[a[i]!]![b[i]!]!++;
  return m;
}

/** Top-1 accuracy: fraction of yPred equal to yTrue (sklearn accuracy_score). */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  const [a, b] = pairLabels(yTrue, yPred);
  let hit = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) hit++;
  return hit / a.length;
}

/**
 * Top-k accuracy from scores [N, C]: the fraction of samples whose label is among the k highest scores (ties broken
 * towards the lower class index; sklearn top_k_accuracy_score for distinct scores).
 */
export function topKAccuracy(scores: number[][] | tf.Tensor, yTrue: Labels, k = 1): number {
  const s = toMatrix(scores, 'scores');
  const y = toLabels(yTrue, 'yTrue');
  if (y.length !== s.length) throw invalid('SHAPE_MISMATCH', 'yTrue', `${s.length} labels`, String(y.length));
  const C = s[0]!.length;
  checkNumber(k, 'k', { min: 1, max: C, integer: true });
  let hit = 0;
  s.forEach((row, i) => {
    if (y[i]! >= C) throw invalid('OUT_OF_RANGE', `yTrue[${i}]`, `a label < ${C}`, String(y[i]));
    const target = row[y[i]!]!;
    let better = 0;
    for (let c = 0; c < C; c++) if (row[c]! > target || (row[c] === target && c < y[i]!)) better++;
    if (better < k) hit++;
  });
  return hit / s.length;
}

/**
 * Per-class accuracy (recall): acc_c = M[c][c] / Σ_p M[c][p]; NaN for a class absent from yTrue.
 */
export function perClassAccuracy(yTrue: Labels, yPred: Labels, numClasses?: number): number[] {
  const m = confusionMatrix(yTrue, yPred, numClasses);
  return m.map((row, c) => {
    const n = row.reduce((x, y) => x + y, 0);
    return n === 0 ? Number.NaN : row[c]! / n;
  });
}

/** Balanced accuracy: mean per-class recall over the classes present in yTrue (sklearn balanced_accuracy_score). */
export function balancedAccuracy(yTrue: Labels, yPred: Labels, numClasses?: number): number {
  const acc = perClassAccuracy(yTrue, yPred, numClasses).filter((v) => !Number.isNaN(v));
  return acc.reduce((x, y) => x + y, 0) / acc.length;
}

/**
 * Group accuracies: the mean per-class accuracy inside each group of classes (long-tail head / mid / tail, from the
 * confusion matrix; classes without test samples are skipped). An empty group gives NaN.
 */
export function groupAccuracy<G extends Record<string, readonly number[]>>(
  yTrue: Labels,
  yPred: Labels,
  groups: G,
  numClasses?: number,
): { [K in keyof G]: number } {
  const acc = perClassAccuracy(yTrue, yPred, numClasses);
  const out = {} as { [K in keyof G]: number };
  for (const [name, classes] of Object.entries(groups)) {
    const vals = classes.map((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= acc.length) {
        throw invalid('OUT_OF_RANGE', `groups.${name}[${i}]`, `a class in [0, ${acc.length})`, String(c));
      }
      return acc[c]!;
    });
    const present = vals.filter((v) => !Number.isNaN(v));
    (out as Record<string, number>)[name] =
      present.length === 0 ? Number.NaN : present.reduce((x, y) => x + y, 0) / present.length;
  }
  return out;
}

export interface F1Options {
  /** 'macro' (default), 'micro' or 'weighted' (sklearn f1_score). */
  average?: 'macro' | 'micro' | 'weighted';
  numClasses?: number;
  /** Value of an undefined precision/recall/F1 (sklearn zero_division, default 0). */
  zeroDivision?: number;
}

/**
 * Per-class F1 = 2·TP / (2·TP + FP + FN) averaged over the classes present in yTrue ∪ yPred (sklearn `labels=None`),
 * or over all `numClasses` classes when it is given (sklearn `labels=range(C)`).
 */
export function f1Score(yTrue: Labels, yPred: Labels, options: F1Options = {}): number {
  const o = checkOptions<F1Options>(options, {
    average: ['macro', 'micro', 'weighted'],
    numClasses: true,
    zeroDivision: true,
  });
  const average = o.average ?? 'macro';
  const zd = checkNumber(o.zeroDivision ?? 0, 'options.zeroDivision', { min: 0, max: 1 });
  const m = confusionMatrix(yTrue, yPred, o.numClasses);
  const C = m.length;
  const tp = m.map((row, c) => row[c]!);
  const support = m.map((row) => row.reduce((x, y) => x + y, 0));
  const predicted = m[0]!.map((_, c) => m.reduce((s, row) => s + row[c]!, 0));
  const present = Array.from({ length: C }, (_, c) => c).filter(
    (c) => o.numClasses !== undefined || support[c]! > 0 || predicted[c]! > 0,
  );
  if (average === 'micro') {
    const TP = present.reduce((s, c) => s + tp[c]!, 0);
    const FP = present.reduce((s, c) => s + predicted[c]! - tp[c]!, 0);
    const FN = present.reduce((s, c) => s + support[c]! - tp[c]!, 0);
    return 2 * TP + FP + FN === 0 ? zd : (2 * TP) / (2 * TP + FP + FN);
  }
  const f1 = present.map((c) => {
    const denom = 2 * tp[c]! + (predicted[c]! - tp[c]!) + (support[c]! - tp[c]!);
    return denom === 0 ? zd : (2 * tp[c]!) / denom;
  });
  if (average === 'macro') return f1.reduce((x, y) => x + y, 0) / f1.length;
  if (average === 'weighted') {
    const total = present.reduce((s, c) => s + support[c]!, 0);
    return total === 0 ? zd : f1.reduce((s, v, i) => s + v * support[present[i]!]!, 0) / total;
  }
  throw invalid('INVALID_ARGUMENT', 'options.average', "'macro', 'micro' or 'weighted'", String(average));
}

/**
 * Average precision of one binary ranking (sklearn average_precision_score): AP = Σ_n (R_n − R_{n−1})·P_n over the
 * distinct score thresholds in decreasing order. NaN when there is no positive.
 */
export function averagePrecision(targets: ArrayLike<number>, scores: ArrayLike<number>): number {
  if (targets === null || typeof targets !== 'object' || typeof targets.length !== 'number') {
    throw invalid('INVALID_ARGUMENT', 'targets', 'an array of 0/1 targets', String(targets));
  }
  scores = toScores(scores, 'scores');
  if (targets.length !== scores.length) {
    throw invalid('SHAPE_MISMATCH', 'scores', `${targets.length} scores`, String(scores.length));
  }
  if (targets.length === 0) throw invalid('EMPTY_INPUT', 'targets', 'at least one sample', 'an empty array');
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (i, j) => (scores[j] as number) - (scores[i] as number),
  );
  let positives = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as number;
    if (t !== 0 && t !== 1) throw invalid('OUT_OF_RANGE', `targets[${i}]`, '0 or 1', String(t));
    positives += t;
  }
  if (positives === 0) return Number.NaN;
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (targets[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue; // one threshold per distinct score
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/**
 * Multi-label mean average precision: targets and scores [N, C]; the mean over classes with at least one positive
 * of the per-class AP (sklearn average_precision_score(average='macro') when every class has a positive).
 */
export function meanAveragePrecision(targets: number[][] | tf.Tensor, scores: number[][] | tf.Tensor): number {
  const t = toMatrix(targets, 'targets');
  const s = toMatrix(scores, 'scores');
  if (t.length !== s.length || t[0]!.length !== s[0]!.length) {
    throw invalid('SHAPE_MISMATCH', 'scores', `[${t.length}, ${t[0]!.length}]`, `[${s.length}, ${s[0]!.length}]`);
  }
  const aps: number[] = [];
  for (let c = 0; c < t[0]!.length; c++) {
    const ap = averagePrecision(
      t.map((r) => r[c]!),
      s.map((r) => r[c]!),
    );
    if (!Number.isNaN(ap)) aps.push(ap);
  }
  if (aps.length === 0) throw invalid('EMPTY_INPUT', 'targets', 'at least one positive label', 'none');
  return aps.reduce((x, y) => x + y, 0) / aps.length;
}

/**
 * Few-shot evaluation: mean episode accuracy and the 95% confidence half-width 1.96·σ/√n (σ the population standard
 * deviation, numpy's default ddof 0, as common few-shot code; pass ddof 1 for the sample deviation).
 */
export function fewShotAccuracy(
  episodeAccuracies: ArrayLike<number>,
  options: { ddof?: number } = {},
): { mean: number; ci95: number; std: number } {
  const { ddof: ddofOption } = checkOptions<{ ddof?: number }>(options, { ddof: true });
  const n = episodeAccuracies?.length;
  if (!n) throw invalid('EMPTY_INPUT', 'episodeAccuracies', 'at least one episode', String(n ?? episodeAccuracies));
  const ddof = checkNumber(ddofOption ?? 0, 'options.ddof', { min: 0, max: n - 1, integer: true });
  let mean = 0;
  for (let i = 0; i < n; i++) mean += checkNumber(episodeAccuracies[i], `episodeAccuracies[${i}]`) / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((episodeAccuracies[i] as number) - mean) ** 2;
  const std = Math.sqrt(ss / (n - ddof));
  return { mean, ci95: (1.96 * std) / Math.sqrt(n), std };
}

/**
 * Cohen's kappa (sklearn cohen_kappa_score, unweighted), the "Kappa" of remote-sensing benchmarks (OA, AA, Kappa):
 * κ = (p_o − p_e) / (1 − p_e), p_o the accuracy and p_e = Σ_c (row_c · col_c) / N² from the confusion matrix.
 */
export function cohenKappa(yTrue: Labels, yPred: Labels, numClasses?: number): number {
  const m = confusionMatrix(yTrue, yPred, numClasses);
  const N = m.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  let agree = 0;
  let expected = 0;
  for (let c = 0; c < m.length; c++) {
    agree += m[c]![c]!;
    const row = m[c]!.reduce((a, b) => a + b, 0);
    const col = m.reduce((s, r) => s + r[c]!, 0);
    expected += row * col;
  }
  const po = agree / N;
  const pe = expected / (N * N);
  return pe === 1 ? Number.NaN : (po - pe) / (1 - pe);
}
