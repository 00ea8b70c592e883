import { type InMemoryDataset, loadDigits, stratifiedSplit } from '@distillery/data';
import { checkNumber, checkOptions } from '@distillery/tensor/errors';

/** The digits' model shape: one channel, ten classes (a ViT adds `imageSize: 8` and a patch size). */
export const DIGITS = Object.freeze({ inChannels: 1, numClasses: 10 });

export interface DigitsSplitOptions {
  /** Seed of the stratified split. */
  seed: number;
  /** Test images per class (default 50: a balanced test set of 500). */
  testPerClass?: number;
  /** Keep only the first `trainLimit` training images (smoke runs); default all. */
  trainLimit?: number;
}

/**
 * The UCI digits shipped with @distillery/data split into a balanced test set (`testPerClass` per class) and the
 * rest for training: the data of most recipes.
 */
export function digitsSplit(options: DigitsSplitOptions): { train: InMemoryDataset; test: InMemoryDataset } {
  const o = checkOptions<DigitsSplitOptions>(options ?? null, { seed: true, testPerClass: true, trainLimit: true });
  const seed = checkNumber(o.seed, 'options.seed', { integer: true });
  const testPerClass = checkNumber(o.testPerClass ?? 50, 'options.testPerClass', { min: 1, integer: true });
  const split = stratifiedSplit(loadDigits(), { testPerClass, seed });
  if (o.trainLimit === undefined) return { train: split.train, test: split.test };
  const limit = checkNumber(o.trainLimit, 'options.trainLimit', { min: 1, max: split.train.length, integer: true });
  return { train: split.train.subset(Array.from({ length: limit }, (_, i) => i)), test: split.test };
}
