import { type ClassSplit, type LongTailProfile, longTailSubset, splitByFraction } from '@distillery/samplers';
import { checkNumber, checkOptions, describeValue, invalid, type OptionsSpec } from '@distillery/tensor';
import type { InMemoryDataset } from './in-memory-dataset';

export interface LongTailOptions {
  /** IF = n_max / n_min ≥ 1 (100 and 10 in the CIFAR-LT literature). */
  imbalanceFactor: number;
  /** Seed of the per-class choice of the kept images (default 0). */
  seed?: number;
  /** n_max, the count kept of class 0; default the smallest class count (6,000 for Fashion-MNIST train). */
  maxCount?: number;
  /** 'exp' (default, CIFAR-LT) or 'step'. */
  profile?: LongTailProfile;
}

export interface LongTailResult {
  /** The long-tailed dataset (class 0's images first, then class 1's, …). */
  dataset: InMemoryDataset;
  /** The kept indices into the source dataset, in the same order (save them to reuse the identical subset). */
  indices: Int32Array;
  /** Kept images per class, n_0 ≥ n_1 ≥ … */
  counts: number[];
}

const LONG_TAIL_OPTIONS: OptionsSpec<LongTailOptions> = {
  imbalanceFactor: true,
  seed: true,
  maxCount: true,
  profile: ['exp', 'step'],
};

/**
 * A long-tailed subset with the CIFAR-LT exponential profile (Cao et al. 2019, LDAM-DRW, arXiv 1906.07413, Sec. 4;
 * kaidic/LDAM-DRW imbalance_cifar.py `get_img_num_per_cls` 'exp' and `gen_imbalanced_data`, commit 65e2597):
 *
 *     n_c = floor(n_max · IF^(−c/(C−1))),  c = 0 … C−1   (class 0 the largest, class C−1 keeps n_max / IF)
 *
 * Each class keeps the first n_c of its images after a seeded shuffle (the counts equal the reference's exactly; the
 * chosen images differ, since numpy's generator is not reproduced: keep `indices` to reuse a subset). Built on
 * `longTailSubset` of @distillery/samplers. A class with fewer than n_c images is an error, never a smaller class.
 */
export function longTail(dataset: InMemoryDataset, options: LongTailOptions): LongTailResult {
  const {
    imbalanceFactor,
    seed = 0,
    maxCount,
    profile,
  } = checkOptions<LongTailOptions>(options ?? null, LONG_TAIL_OPTIONS);
  checkDataset(dataset);
  checkNumber(imbalanceFactor, 'options.imbalanceFactor', { min: 1 });
  checkNumber(seed, 'options.seed', { integer: true });
  if (maxCount !== undefined) checkNumber(maxCount, 'options.maxCount', { min: 1, integer: true });
  const { indices, counts } = longTailSubset(dataset.labels(), {
    imbalanceFactor,
    seed,
    numClasses: dataset.classNames.length,
    ...(maxCount !== undefined ? { maxCount } : {}),
    ...(profile !== undefined ? { profile } : {}),
  });
  return { dataset: dataset.subset(indices), indices, counts };
}

function checkDataset(dataset: InMemoryDataset): void {
  if (dataset === null || typeof dataset !== 'object' || typeof dataset.subset !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'dataset', 'an InMemoryDataset', describeValue(dataset));
  }
}

/**
 * Head / mid / tail classes by training count: the classes are ranked by count, largest first (ties by class index),
 * and the first floor(0.3·C) are the head, the next floor(0.4·C) the mid, the rest the tail (`fractions` changes
 * 0.3 and 0.4; the rule of `splitByFraction`, rhfeiyang/PPOT `class_acc_analyze`). For 10 classes this is 3 / 4 / 3,
 * the CIFAR-10-LT cut points (3, 7) of val-iisc/DeiT-LT; for 100 classes it gives 30 / 40 / 30 (DeiT-LT's
 * hand-picked CIFAR-100-LT cut points are (36, 71): pass `fractions: [0.36, 0.35]` for those). For a count-based
 * many / medium / few split use `splitByCount` of @distillery/samplers.
 */
export function headMidTail(
  counts: ArrayLike<number>,
  options: { fractions?: readonly [number, number] } = {},
): ClassSplit {
  const { fractions = [0.3, 0.4] } = checkOptions<{ fractions?: readonly [number, number] }>(options, {
    fractions: true,
  });
  if (counts === null || typeof counts !== 'object' || typeof counts.length !== 'number' || counts.length === 0) {
    throw invalid('INVALID_ARGUMENT', 'counts', 'a non-empty array of class counts', describeValue(counts));
  }
  const n = Array.from(counts, (v, c) => checkNumber(v, `counts[${c}]`, { min: 0, integer: true }));
  if (!Array.isArray(fractions)) {
    throw invalid('INVALID_ARGUMENT', 'options.fractions', '[head, mid] fractions', describeValue(fractions));
  }
  let split: ClassSplit;
  try {
    split = splitByFraction(n.length, fractions);
  } catch (error) {
    const e = error as { argument?: string; message: string };
    throw invalid('OUT_OF_RANGE', 'options.fractions', 'two fractions in [0, 1] summing to at most 1', e.message);
  }
  const ranked = n.map((_, c) => c).sort((a, b) => n[b]! - n[a]! || a - b);
  const byRank = (ranks: number[]) => ranks.map((r) => ranked[r]!).sort((a, b) => a - b);
  return { head: byRank(split.head), mid: byRank(split.mid), tail: byRank(split.tail) };
}
