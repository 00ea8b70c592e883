import { checkNumber, checkOptions, createRng, invalid, type Rng } from '@distillery/tensor';
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
  const labels = dataset.labels();
  const byClass: number[][] = Array.from({ length: dataset.classNames.length }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i] as number]?.push(i);
  const test: number[] = [];
  const train: number[] = [];
  for (const [c, indices] of byClass.entries()) {
    if (indices.length < perClass) {
      throw invalid(
        'OUT_OF_RANGE',
        'options.testPerClass',
        `at most ${indices.length} (the size of class ${c})`,
        String(perClass),
      );
    }
    rng.shuffle(indices);
    test.push(...indices.slice(0, perClass));
    train.push(...indices.slice(perClass));
  }
  return {
    test: dataset.subset(test),
    train: dataset.subset(train),
    testIndices: Int32Array.from(test),
    trainIndices: Int32Array.from(train),
  };
}
