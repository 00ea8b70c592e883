import {
  headMidTail,
  type InMemoryDataset,
  loadFashionMnist,
  longTail,
  stratifiedSplit,
  stratifiedSubset,
} from '@distillery/data';
import { checkNumber, checkOptions } from '@distillery/tensor/errors';

/** Validation images per class carved from the 60,000 training images (5,000 in all; smoke runs: 5 per class). */
export const FASHION_MNIST_VALIDATION_PER_CLASS = 500;
/** Smoke runs: training images per class (before any long tail) and test images per class. */
export const FASHION_MNIST_SMOKE = Object.freeze({ trainPerClass: 20, validationPerClass: 5, testPerClass: 10 });

export interface FashionMnistPoolsOptions {
  seed: number;
  /** Seconds-long runs: a stratified subset of each split (default false). */
  smoke?: boolean;
  /** The folder of the IDX files (default: loadFashionMnist's, Debian's `dataset-fashion-mnist`). */
  root?: string;
}

export interface FashionMnistPools {
  /** The training images left after the validation carve (balanced; to be made long-tailed, or used as they are). */
  pool: InMemoryDataset;
  /** A stratified, balanced validation split carved from the TRAINING images, for choosing settings. */
  validation: InMemoryDataset;
  /** The balanced 10,000-image test split (smoke: 10 per class of it). */
  test: InMemoryDataset;
  /** How the report describes the splits. */
  note: string;
}

/**
 * Fashion-MNIST's splits for a recipe: a stratified validation split of 500 per class carved (with `seed`) from the
 * 60,000 training images, the other 55,000 as the training pool, and the balanced 10,000-image test split. Smoke runs
 * keep a stratified subset: 20 per class of the pool, 5 per class of validation, 10 per class of test. A missing
 * dataset is loadFashionMnist's error (it names the Debian package).
 */
export async function fashionMnistPools(options: FashionMnistPoolsOptions): Promise<FashionMnistPools> {
  const o = checkOptions<FashionMnistPoolsOptions>(options ?? null, { seed: true, smoke: [true, false], root: true });
  const seed = checkNumber(o.seed, 'options.seed', { integer: true });
  const root = o.root === undefined ? {} : { root: o.root };
  const train = await loadFashionMnist({ ...root, split: 'train' });
  const test = await loadFashionMnist({ ...root, split: 'test' });
  const carve = stratifiedSplit(train, { testPerClass: FASHION_MNIST_VALIDATION_PER_CLASS, seed });
  if (!o.smoke) {
    const note = `the balanced ${test.length}-image test split; ${carve.test.length} validation images (${FASHION_MNIST_VALIDATION_PER_CLASS} per class) carved from the training split`;
    return { pool: carve.train, validation: carve.test, test, note };
  }
  const s = FASHION_MNIST_SMOKE;
  const pool = stratifiedSubset(carve.train, { perClass: s.trainPerClass, seed }).dataset;
  const validation = stratifiedSubset(carve.test, { perClass: s.validationPerClass, seed }).dataset;
  const smokeTest = stratifiedSubset(test, { perClass: s.testPerClass, seed }).dataset;
  const note = `smoke subset: ${smokeTest.length} test images (${s.testPerClass} per class), ${validation.length} validation images carved from the training split`;
  return { pool, validation, test: smokeTest, note };
}

export interface FashionMnistSplitOptions extends FashionMnistPoolsOptions {
  /** n_max / n_min of the long-tailed training set (CIFAR-LT exponential profile); absent: the pool as it is. */
  imbalanceFactor?: number;
  /**
   * At most this many pool images per class (a stratified, seeded subset taken before any long tail, so it is also
   * the head class's n_max); absent, or at least the pool's class size: the whole pool. Sizes a run to a time budget.
   */
  maxPerClass?: number;
}

export interface FashionMnistSplit extends FashionMnistPools {
  /** The training set: the pool, long-tailed when `imbalanceFactor` is given. */
  train: InMemoryDataset;
  /** Training images per class. */
  counts: number[];
  /** Head / mid / tail classes by training count (headMidTail: 3 / 4 / 3 of the 10 classes). */
  groups: { head: number[]; mid: number[]; tail: number[] };
}

/**
 * fashionMnistPools, then the training set: the pool cut to `maxPerClass` images per class when given, long-tailed with
 * `longTail` (class 0 the head, n_max = the pool's class size) when `imbalanceFactor` is given, else balanced.
 *
 *     const { train, validation, test, counts } = await fashionMnistSplit({ seed, smoke, imbalanceFactor: 100 });
 */
export async function fashionMnistSplit(options: FashionMnistSplitOptions): Promise<FashionMnistSplit> {
  const { imbalanceFactor, maxPerClass, ...rest } = checkOptions<FashionMnistSplitOptions>(options ?? null, {
    seed: true,
    smoke: [true, false],
    root: true,
    imbalanceFactor: true,
    maxPerClass: true,
  });
  if (imbalanceFactor !== undefined) checkNumber(imbalanceFactor, 'options.imbalanceFactor', { min: 1 });
  if (maxPerClass !== undefined) checkNumber(maxPerClass, 'options.maxPerClass', { min: 1, integer: true });
  const pools = await fashionMnistPools(rest);
  const smallest = Math.min(...classCounts(pools.pool));
  const pool =
    maxPerClass === undefined || maxPerClass >= smallest
      ? pools.pool
      : stratifiedSubset(pools.pool, { perClass: maxPerClass, seed: rest.seed }).dataset;
  const lt = imbalanceFactor === undefined ? undefined : longTail(pool, { imbalanceFactor, seed: rest.seed });
  const train = lt?.dataset ?? pool;
  const counts = lt?.counts ?? classCounts(train);
  const split = headMidTail(counts);
  const groups = { head: [...split.head], mid: [...split.mid], tail: [...split.tail] };
  return { ...pools, pool, train, counts, groups };
}

function classCounts(dataset: InMemoryDataset): number[] {
  const counts = new Array<number>(dataset.classNames.length).fill(0);
  for (const label of dataset.labels()) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}
