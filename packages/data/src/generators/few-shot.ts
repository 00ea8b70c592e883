import { checkNumber, checkOptions, describeValue, invalid, type Rng } from '@distillery/tensor';

export interface FewShotEpisode {
  /** The N dataset classes of the episode, in way order. */
  classes: number[];
  /** N·K dataset indices, way-major (way 0's K shots, then way 1's, …). */
  support: Int32Array;
  /** Episode labels 0 … N−1 of the support set. */
  supportLabels: Int32Array;
  /** N·Q dataset indices, way-major. */
  query: Int32Array;
  queryLabels: Int32Array;
}

/**
 * One N-way K-shot Q-query episode from any labelled dataset: N distinct classes drawn uniformly among those with at
 * least K + Q samples, then K + Q distinct samples per class (the first K are the support). Seeded by `rng`.
 */
export interface FewShotEpisodeOptions {
  /** N: classes per episode. Required. */
  nWay: number;
  /** K: support samples per class. Required. */
  kShot: number;
  /** Q: query samples per class (0 allowed). Required. */
  qQuery: number;
  /** The random source (`createRng(seed)` of @distillery/tensor). Required. */
  rng: Rng;
}

export function fewShotEpisode(labels: ArrayLike<number>, options: FewShotEpisodeOptions): FewShotEpisode {
  if (options === undefined) {
    throw invalid('INVALID_ARGUMENT', 'options', 'an options object { nWay, kShot, qQuery, rng }', 'undefined');
  }
  const opts = checkOptions<FewShotEpisodeOptions>(options, { nWay: true, kShot: true, qQuery: true, rng: true });
  const N = checkNumber(opts.nWay, 'options.nWay', { min: 1, integer: true });
  const K = checkNumber(opts.kShot, 'options.kShot', { min: 1, integer: true });
  const Q = checkNumber(opts.qQuery, 'options.qQuery', { min: 0, integer: true });
  const rng = opts.rng;
  if (!rng || typeof rng !== 'object' || typeof (rng as Rng).permutation !== 'function') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.rng',
      'a random source with permutation() (createRng(seed))',
      describeValue(rng),
    );
  }
  if (!labels || typeof labels.length !== 'number') {
    throw invalid('INVALID_ARGUMENT', 'labels', 'an array of integer class labels', describeValue(labels));
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0) throw invalid('OUT_OF_RANGE', `labels[${i}]`, 'a label >= 0', String(y));
    let list = byClass.get(y);
    if (!list) {
      list = [];
      byClass.set(y, list);
    }
    list.push(i);
  }
  const eligible = [...byClass.keys()].filter((c) => byClass.get(c)!.length >= K + Q).sort((a, b) => a - b);
  if (eligible.length < N) {
    throw invalid(
      'OUT_OF_RANGE',
      'options.nWay',
      `at most ${eligible.length} (classes with ≥ ${K + Q} samples)`,
      String(N),
    );
  }
  const order = rng.permutation(eligible.length);
  const classes = Array.from({ length: N }, (_, w) => eligible[order[w]!]!);
  const support = new Int32Array(N * K);
  const query = new Int32Array(N * Q);
  classes.forEach((c, w) => {
    const pool = byClass.get(c)!;
    const pick = rng.permutation(pool.length);
    for (let k = 0; k < K; k++) support[w * K + k] = pool[pick[k]!]!;
    for (let q = 0; q < Q; q++) query[w * Q + q] = pool[pick[K + q]!]!;
  });
  return {
    classes,
    support,
    supportLabels: Int32Array.from({ length: N * K }, (_, i) => Math.floor(i / K)),
    query,
    queryLabels: Int32Array.from({ length: N * Q }, (_, i) => Math.floor(i / Math.max(Q, 1))),
  };
}
