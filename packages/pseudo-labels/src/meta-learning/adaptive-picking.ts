import { checkNumber, checkOptions, describeValue, invalid } from '@distillery/tensor';

export interface AdaptivePickingOptions {
  /** Queries kept before class balancing (`pic_num`), default 75, at most Q. */
  picNum?: number;
}

export interface AdaptivePick {
  /** Picked query positions, interleaved by class: [c0 #1, c1 #1, …, c0 #2, …]. */
  indices: Int32Array;
  /** Their pseudo-labels [0 … C−1] repeated minLen times, in the same order. */
  labels: Int32Array;
  /** Picks per class (0: nothing picked). */
  minLen: number;
}

/**
 * Adaptive class-balanced picking of GP-MAML (arXiv 2207.04217; branpent/gp-maml utils.py `adaptivePicking`):
 *
 *     p = softmax(F_Q),  ŷ = argmax p
 *     keep the picNum queries with the largest max p (default 75 = all 5×15)
 *     bucket the kept queries by ŷ;  minLen = the smallest bucket size over the C classes
 *     take the minLen most confident queries per class, interleaved by class
 *
 * `scores` is the query block of the label-propagation output (row-major [Q, C]). Works on host values.
 */
export function adaptivePicking(
  scores: ArrayLike<number>,
  numClasses: number,
  options?: AdaptivePickingOptions,
): AdaptivePick {
  const { picNum: picOption } = checkOptions<AdaptivePickingOptions>(options, { picNum: true });
  const c = checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
  if (!scores || typeof scores.length !== 'number' || scores.length % c !== 0 || scores.length === 0) {
    throw invalid('SHAPE_MISMATCH', 'scores', `a row-major [Q, ${c}] score matrix`, describeValue(scores));
  }
  const q = scores.length / c;
  const picNum = Math.min(
    q,
    picOption === undefined ? 75 : checkNumber(picOption, 'options.picNum', { min: 1, integer: true }),
  );
  const conf = new Float64Array(q);
  const pred = new Int32Array(q);
  for (let i = 0; i < q; i++) {
    let m = Number.NEGATIVE_INFINITY;
    let best = 0;
    for (let j = 0; j < c; j++) {
      const v = scores[i * c + j]!;
      if (!Number.isFinite(v)) throw invalid('NON_FINITE', 'scores', 'finite scores', `${v} at [${i}, ${j}]`);
      if (v > m) {
        m = v;
        best = j;
      }
    }
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(scores[i * c + j]! - m);
    conf[i] = 1 / s;
    pred[i] = best;
  }
  const ranked = Array.from({ length: q }, (_, i) => i)
    .sort((a, b) => conf[b]! - conf[a]! || a - b)
    .slice(0, picNum);
  const buckets: number[][] = Array.from({ length: c }, () => []);
  for (const i of ranked) buckets[pred[i]!]!.push(i); // already in descending confidence
  const minLen = Math.min(...buckets.map((b) => b.length));
  const indices = new Int32Array(minLen * c);
  const labels = new Int32Array(minLen * c);
  for (let t = 0; t < minLen; t++) {
    for (let j = 0; j < c; j++) {
      indices[t * c + j] = buckets[j]![t]!;
      labels[t * c + j] = j;
    }
  }
  return { indices, labels, minLen };
}
