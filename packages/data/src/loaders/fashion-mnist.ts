import { checkEnum, checkOptions, describeValue, invalid, type OptionsSpec } from '@distillery/tensor';
import type { InMemoryDataset } from '../dataset/in-memory-dataset';
import { loadIdx } from './idx';

/**
 * The ten Fashion-MNIST classes, label 0 … 9 (Xiao, Rasul & Vollgraf 2017, arXiv 1708.07747, Table 1;
 * zalandoresearch/fashion-mnist README "Labels").
 */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Where Debian's `dataset-fashion-mnist` package installs the four original files. */
export const FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist';

export interface FashionMnistOptions {
  /** The folder holding the IDX files (default `/usr/share/datasets/fashion-mnist`, Debian's package). */
  root?: string;
  /** 'train' (60,000 images, default) or 'test' (10,000). */
  split?: 'train' | 'test';
}

const SPLITS = ['train', 'test'] as const;
const OPTIONS: OptionsSpec<FashionMnistOptions> = { root: true, split: SPLITS };

/** The file names of a split, as distributed: `train-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`, … */
export function fashionMnistFiles(split: 'train' | 'test'): { images: string; labels: string } {
  const prefix = checkEnum(split, 'split', SPLITS) === 'train' ? 'train' : 't10k';
  return { images: `${prefix}-images-idx3-ubyte.gz`, labels: `${prefix}-labels-idx1-ubyte.gz` };
}

/**
 * Loads Fashion-MNIST in Node from the IDX files in `root` (each gzip-compressed, as distributed, or already
 * gunzipped without the `.gz`): images [N, 28, 28, 1] float32 in [0, 1] when batched, labels 0 … 9 with
 * `FASHION_MNIST_CLASSES`. Never downloads: a missing file is an IO error naming it and the Debian package that
 * provides it (`sudo apt-get install dataset-fashion-mnist`). In a browser, pass the files to `loadIdx`.
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<InMemoryDataset> {
  const { root = FASHION_MNIST_ROOT, split = 'train' } = checkOptions<FashionMnistOptions>(options, OPTIONS);
  if (typeof root !== 'string' || root === '') {
    throw invalid('INVALID_ARGUMENT', 'options.root', 'a folder path', describeValue(root));
  }
  const fs = await import('node:fs');
  const nodePath = await import('node:path');
  const names = fashionMnistFiles(split);
  const find = (name: string): string => {
    const gz = nodePath.join(root, name);
    const raw = gz.slice(0, -'.gz'.length);
    if (fs.existsSync(gz)) return gz;
    if (fs.existsSync(raw)) return raw;
    throw invalid(
      'IO',
      gz,
      `the Fashion-MNIST ${split} file ${name} (or ${nodePath.basename(raw)})`,
      'missing',
      root === FASHION_MNIST_ROOT
        ? 'Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; scripts/setup.sh does it)'
        : `Debian's dataset-fashion-mnist package installs the files in ${FASHION_MNIST_ROOT}`,
    );
  };
  return loadIdx({ images: find(names.images), labels: find(names.labels), classNames: FASHION_MNIST_CLASSES });
}
