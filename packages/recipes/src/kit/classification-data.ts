import { type InMemoryDataset, loadCifar } from '@distillery/data';
import { checkOptions } from '@distillery/tensor/errors';
import { acceptData } from './accept-data';
import { digitsSplit } from './digits-split';
import { fashionMnistPools } from './fashion-mnist-split';

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
  /** Fashion-MNIST only: the stratified validation split carved from the training images, for choosing settings. */
  validation?: InMemoryDataset;
}

/**
 * The image-classification data of `--data`: the shipped digits (absent or 'digits': a balanced test set of 50 per
 * class, the rest for training), 'fashion-mnist' (fashionMnistPools: the training pool less a stratified validation
 * split of 500 per class, the balanced 10,000-image test split; `smoke`: a stratified subset of each), or CIFAR-10 / CIFAR-100 from a path (the extracted `cifar-10-batches-bin` /
 * `cifar-100-binary` folder, its parent, or the `.tar.gz`; a path naming "cifar-100" or "cifar100" is read as
 * CIFAR-100), with its own train / test splits.
 */
export async function loadClassificationData(
  data: string | undefined,
  options: { seed: number; smoke?: boolean },
): Promise<ClassificationData> {
  const { seed, smoke } = checkOptions<{ seed: number; smoke?: boolean }>(options ?? null, {
    seed: true,
    smoke: [true, false],
  });
  const source = acceptData(data, { names: ['digits', 'fashion-mnist'], paths: true });
  if (source === 'digits') {
    const { train, test } = digitsSplit({ seed });
    const testNote = 'balanced test set of 50 images per class';
    return { name: 'digits', pool: train, test, numClasses: 10, imageSize: 8, inChannels: 1, testNote };
  }
  if (source === 'fashion-mnist') {
    const { pool, validation, test, note } = await fashionMnistPools({ seed, smoke: smoke === true });
    return {
      name: 'Fashion-MNIST',
      pool,
      test,
      validation,
      numClasses: 10,
      imageSize: 28,
      inChannels: 1,
      testNote: note,
    };
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
