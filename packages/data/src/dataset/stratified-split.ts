import { checkNumber, checkOptions, createRng, describeValue, invalid, type Rng } from '@distillery/tensor';
import type { InMemoryDataset } from './in-memory-dataset';

export interface StratifiedSplit {
  test: InMemoryDataset;
  train: InMemoryDataset;
  /** Dataset indices of the test images: class 0's first, then class 1's, … */
  testIndices: Int32Array;
  /** Dataset indices of the rest, in the same class order. */
  trainIndices: Int32Array;
}

/**
 * A balanced held-out split: each class is shuffled (in class order, from one seeded generator) and its first
 * `testPerClass` images go to the test set, the rest to training. Pass `rng` instead of `seed` to keep drawing from
 * the same stream afterwards. A class with fewer than `testPerClass` images throws rather than giving a smaller
 * test share.
 */
export function stratifiedSplit(
  dataset: InMemoryDataset,
  options: { testPerClass: number; seed?: number; rng?: Rng },
): StratifiedSplit {
  checkOptions<{ testPerClass: number; seed?: number; rng?: Rng }>(options ?? null, {
    testPerClass: true,
    seed: true,
    rng: true,
  });
  const perClass = checkNumber(options?.testPerClass, 'options.testPerClass', { min: 0, integer: true });
  const rng = options.rng ?? createRng(checkNumber(options.seed ?? 0, 'options.seed', { integer: true }));
  const { test, train } = pickPerClass(dataset, perClass, rng, 'options.testPerClass');
  return {
    test: dataset.subset(test),
    train: dataset.subset(train),
    testIndices: Int32Array.from(test),
    trainIndices: Int32Array.from(train),
  };
}

/** Shuffles each class (in class order, from `rng`) and splits it after its first `perClass` images. */
function pickPerClass(
  dataset: InMemoryDataset,
  perClass: number,
  rng: Rng,
  argument: string,
): { test: number[]; train: number[] } {
  if (dataset === null || typeof dataset !== 'object' || typeof dataset.subset !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'dataset', 'an InMemoryDataset', describeValue(dataset));
  }
  const labels = dataset.labels();
  const byClass: number[][] = Array.from({ length: dataset.classNames.length }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i] as number]?.push(i);
  const test: number[] = [];
  const train: number[] = [];
  for (const [c, indices] of byClass.entries()) {
    if (indices.length < perClass) {
      throw invalid('OUT_OF_RANGE', argument, `at most ${indices.length} (the size of class ${c})`, String(perClass));
    }
    rng.shuffle(indices);
    test.push(...indices.slice(0, perClass));
    train.push(...indices.slice(perClass));
  }
  return { test, train };
}

/**
 * A small balanced subset: `perClass` images of every class, drawn as `stratifiedSplit` draws its test share (the
 * same seed gives the same images as `stratifiedSplit(dataset, { testPerClass: perClass, seed }).test`), without
 * copying the rest. For smoke runs ("a small stratified subset, seconds per recipe"). A class with fewer than
 * `perClass` images throws.
 */
export function stratifiedSubset(
  dataset: InMemoryDataset,
  options: { perClass: number; seed?: number },
): { dataset: InMemoryDataset; indices: Int32Array } {
  checkOptions<{ perClass: number; seed?: number }>(options ?? null, { perClass: true, seed: true });
  const perClass = checkNumber(options?.perClass, 'options.perClass', { min: 1, integer: true });
  const rng = createRng(checkNumber(options.seed ?? 0, 'options.seed', { integer: true }));
  const { test } = pickPerClass(dataset, perClass, rng, 'options.perClass');
  return { dataset: dataset.subset(test), indices: Int32Array.from(test) };
}
