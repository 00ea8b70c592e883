import { type InMemoryDataset, loadCifar } from '@distillery/data';
import { checkOptions } from '@distillery/tensor/errors';
import { acceptData } from './accept-data';
import { digitsSplit } from './digits-split';

export interface ClassificationData {
  /** 'digits', 'CIFAR-10' or 'CIFAR-100'. */
  name: string;
  /** The training images (to be made long-tailed, or used as they are). */
  pool: InMemoryDataset;
  test: InMemoryDataset;
  numClasses: number;
  imageSize: number;
  inChannels: number;
  /** How the report describes the test set. */
  testNote: string;
}

/**
 * The image-classification data of `--data`: the shipped digits (absent or 'digits': a balanced test set of 50 per
 * class, the rest for training), or CIFAR-10 / CIFAR-100 from a path (the extracted `cifar-10-batches-bin` /
 * `cifar-100-binary` folder, its parent, or the `.tar.gz`; a path naming "cifar-100" or "cifar100" is read as
 * CIFAR-100), with its own train / test splits.
 */
export async function loadClassificationData(
  data: string | undefined,
  options: { seed: number },
): Promise<ClassificationData> {
  const { seed } = checkOptions<{ seed: number }>(options ?? null, { seed: true });
  const source = acceptData(data, { names: ['digits'], paths: true });
  if (source === 'digits') {
    const { train, test } = digitsSplit({ seed });
    const testNote = 'balanced test set of 50 images per class';
    return { name: 'digits', pool: train, test, numClasses: 10, imageSize: 8, inChannels: 1, testNote };
  }
  const variant = /cifar-?100/i.test(source) ? 'cifar100' : 'cifar10';
  const pool = await loadCifar(source, { variant, split: 'train' });
  const test = await loadCifar(source, { variant, split: 'test' });
  const [name, numClasses] = variant === 'cifar10' ? ['CIFAR-10', 10] : ['CIFAR-100', 100];
  return {
    name,
    pool,
    test,
    numClasses,
    imageSize: 32,
    inChannels: 3,
    testNote: `the ${test.length}-image test split`,
  };
}
