import { type LongTailProfile, longTailSubset } from '@distillery/samplers';
import { checkOptions, describeValue, invalid } from '@distillery/tensor/errors';

/** What longTailSplit needs of a dataset: its labels and a subset by indices (an InMemoryDataset of @distillery/data). */
export interface SubsettableDataset<D> {
  readonly length: number;
  labels(): ArrayLike<number>;
  subset(indices: ArrayLike<number>): D;
}

export interface LongTailSplitOptions {
  /** n_max / n_min, ≥ 1. */
  imbalanceFactor: number;
  /** Seed of the draw inside each class (default 0). */
  seed?: number;
  /** 'exp' (default) or 'step'. */
  profile?: LongTailProfile;
  /** Images of the largest class (default: the smallest class's count, so every class can fill its quota). */
  maxCount?: number;
  /** Classes (default: the largest label + 1). */
  numClasses?: number;
}

export interface LongTailSplit<D> {
  /** The long-tailed training set. */
  train: D;
  /** Images per class in `train`, class 0 (the head) first. */
  counts: number[];
  /** Indices of `train` in the dataset. */
  indices: Int32Array;
}

/**
 * A long-tailed training set drawn from `dataset` (Cao et al., LDAM, arXiv 1906.07413 §4: class c keeps
 * n_max · IF^(−c/(C−1)) images): a thin layer over `longTailSubset` of @distillery/samplers that also takes the
 * subset of the dataset.
 *
 *     const { train, counts } = longTailSplit(pool, { imbalanceFactor: 100, seed: ctx.seed });
 */
export function longTailSplit<D>(dataset: SubsettableDataset<D>, options: LongTailSplitOptions): LongTailSplit<D> {
  const o = checkOptions<LongTailSplitOptions>(options ?? null, {
    imbalanceFactor: true,
    seed: true,
    profile: ['exp', 'step'],
    maxCount: true,
    numClasses: true,
  });
  if (!dataset || typeof dataset.labels !== 'function' || typeof dataset.subset !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'dataset', 'a dataset with labels() and subset(indices)', describeValue(dataset));
  }
  const lt = longTailSubset(dataset.labels(), o);
  return { train: dataset.subset(lt.indices), counts: lt.counts, indices: lt.indices };
}
