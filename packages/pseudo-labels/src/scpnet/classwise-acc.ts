import { checkNumber, checkOptions, describeValue, invalid } from '@distillery/tensor';

export interface ScpnetClasswiseAccOptions {
  /** Pseudo-positives per sample (`hard_k`). Required. */
  hardK: number;
  /** Training-set size (rows of the `selected_label` memory). Required. */
  numTrain: number;
  /** β from the previous step, kept when no class has been selected yet; default 1/C everywhere. */
  previous?: ArrayLike<number>;
}

/**
 * SCPNet class-wise learning status (jameslahm/SCPNet scpnet.py `SCPNetTrainer.train`, commit d56341a), FlexMatch-style, from the
 * per-class counts of the `selected_label` memory (count_c = Σ_i selected_label[i, c]):
 *
 *     if max_c count_c ≥ 1:  β_c = max( count_c / max(max_c count_c, hard_k·N_train − Σ_c count_c), 1/C )
 *     else:                  β = previous (initially 1/C)
 *
 * Thresholds are then τ_c = p_cutoff·β_c/(2 − β_c) (see `scpnetPseudoLabels`).
 */
export function scpnetClasswiseAcc(counts: ArrayLike<number>, options: ScpnetClasswiseAccOptions): Float64Array {
  if (!counts || typeof counts.length !== 'number' || counts.length < 2) {
    throw invalid('INVALID_ARGUMENT', 'counts', 'per-class counts (C >= 2)', describeValue(counts));
  }
  const c = counts.length;
  const opts = checkOptions<ScpnetClasswiseAccOptions>(options, { hardK: true, numTrain: true, previous: true });
  const hardK = checkNumber(opts.hardK, 'options.hardK', { min: 1, integer: true });
  const numTrain = checkNumber(opts.numTrain, 'options.numTrain', { min: 1, integer: true });
  let maxV = 0;
  let sumV = 0;
  for (let j = 0; j < c; j++) {
    const v = checkNumber(counts[j], `counts[${j}]`, { min: 0 });
    maxV = Math.max(maxV, v);
    sumV += v;
  }
  if (maxV < 1) {
    const previous = opts.previous;
    if (previous === undefined) return new Float64Array(c).fill(1 / c);
    if (!previous || previous.length !== c) {
      throw invalid('SHAPE_MISMATCH', 'options.previous', `${c} values`, describeValue(previous));
    }
    return Float64Array.from(previous, (v, j) => checkNumber(v, `options.previous[${j}]`, { min: 0, max: 1 }));
  }
  const denom = Math.max(maxV, hardK * numTrain - sumV);
  return Float64Array.from(counts, (v) => Math.max(v / denom, 1 / c));
}
