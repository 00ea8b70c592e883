import { checkNumber, checkOptions, invalid, Rng } from '@distillery/tensor';
import { indicesByClass } from './class-counts';
import { type LongTailProfile, longTailCounts } from './long-tail-counts';

export interface LongTailSubsetOptions {
  /** IF = n_max / n_min ≥ 1. */
  imbalanceFactor: number;
  /** 'exp' (default) or 'step'. */
  profile?: LongTailProfile;
  /** n_max; defaults to the smallest class count of the source (every class can then supply its quota). */
  maxCount?: number;
  /** Number of classes; defaults to max(label) + 1. */
  numClasses?: number;
  /** Seed of the per-class shuffle (default 0). */
  seed?: number;
  /** Shuffle each class before taking its first n_i (default true, as LDAM-DRW); false keeps dataset order. */
  shuffle?: boolean;
}

export interface LongTailSubset {
  /** Selected dataset indices, class 0's first, then class 1's, … (the reference's order). */
  indices: Int32Array;
  /** Kept samples per class (the count table). */
  counts: number[];
}

/**
 * A long-tailed subset of any labelled dataset (kaidic/LDAM-DRW, imbalance_cifar.py `gen_imbalanced_data`): class i
 * keeps the first n_i of its indices after a seeded per-class shuffle, in class order; n_i from `longTailCounts`.
 * The counts equal the reference's exactly; the chosen indices differ (numpy's RNG is not reproduced), so export
 * `indices` to reuse an identical subset.
 */
export function longTailSubset(labels: ArrayLike<number>, options: LongTailSubsetOptions): LongTailSubset {
  const {
    imbalanceFactor,
    profile,
    maxCount: givenMaxCount,
    numClasses,
    seed: givenSeed = 0,
    shuffle = true,
  } = checkOptions<LongTailSubsetOptions>(options ?? null, {
    imbalanceFactor: true,
    profile: ['exp', 'step'],
    maxCount: true,
    numClasses: true,
    seed: true,
    shuffle: [true, false],
  });
  const byClass = indicesByClass(labels, numClasses);
  const C = byClass.length;
  if (C === 0) throw invalid('EMPTY_INPUT', 'labels', 'at least one labelled sample', 'an empty array');
  const seed = checkNumber(givenSeed, 'options.seed', { integer: true });
  const empty = byClass.findIndex((b) => b.length === 0);
  if (empty >= 0) {
    throw invalid('EMPTY_INPUT', `labels (class ${empty})`, 'at least one sample in every class', '0 samples');
  }
  const smallest = Math.min(...byClass.map((b) => b.length));
  const maxCount = givenMaxCount ?? smallest;
  const counts = longTailCounts({ numClasses: C, maxCount, imbalanceFactor, profile });
  const rng = new Rng(seed);
  const selected: number[] = [];
  for (let c = 0; c < C; c++) {
    const pool = byClass[c]!;
    const need = counts[c]!;
    if (pool.length < need) {
      throw invalid(
        'OUT_OF_RANGE',
        `labels (class ${c})`,
        `at least ${need} samples of class ${c} for maxCount ${maxCount}`,
        `${pool.length}`,
      );
    }
    if (shuffle) rng.shuffle(pool);
    for (let k = 0; k < need; k++) selected.push(pool[k]!);
  }
  return { indices: Int32Array.from(selected), counts };
}
