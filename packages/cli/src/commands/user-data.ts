import { statSync } from 'node:fs';
import path from 'node:path';
import { type InMemoryDataset, loadCifar, loadIdx, loadImageFolder } from '@distillery/data';
import { createRng, invalid } from '@distillery/tensor';

/** What `--data` can be: an image folder, CIFAR-10/100 binary files, or IDX files (MNIST / Fashion-MNIST layout). */
export const DATA_FORMATS = ['auto', 'folder', 'cifar10', 'cifar100', 'idx'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface UserDataOptions {
  format: DataFormat;
  /** 'train' or 'test' files of CIFAR / IDX. */
  split: 'train' | 'test';
  /** Image folders are resized to this [H, W] (nearest); CIFAR and IDX keep their size. */
  size?: [number, number];
  channels: 1 | 3;
  argument: string;
}

/** The format of `path` when `--data-format auto`: CIFAR files, IDX files, or else an image folder. */
function detect(file: string): Exclude<DataFormat, 'auto'> {
  const name = path.basename(file);
  if (
    /^cifar-10/.test(name) ||
    exists(path.join(file, 'data_batch_1.bin')) ||
    exists(path.join(file, 'cifar-10-batches-bin'))
  ) {
    return 'cifar10';
  }
  if (/^cifar-100/.test(name) || exists(path.join(file, 'train.bin')) || exists(path.join(file, 'cifar-100-binary'))) {
    return 'cifar100';
  }
  if (
    /idx[13]-ubyte/.test(name) ||
    exists(path.join(file, 'train-images-idx3-ubyte')) ||
    exists(path.join(file, 'train-images-idx3-ubyte.gz'))
  ) {
    return 'idx';
  }
  return 'folder';
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads `--data` / `--val-data`. Every problem (a missing path, an empty class folder, an unreadable image, corrupt
 * CIFAR files) is a DistilleryError of @distillery/data naming the file.
 */
export async function loadUserData(file: string, o: UserDataOptions): Promise<InMemoryDataset> {
  if (!exists(file)) {
    throw invalid(
      'IO',
      o.argument,
      'an image folder, CIFAR binary files or IDX files',
      `${file} (no such file or folder)`,
    );
  }
  const format = o.format === 'auto' ? detect(file) : o.format;
  switch (format) {
    case 'folder':
      return loadImageFolder(file, { size: o.size, channels: o.channels });
    case 'cifar10':
    case 'cifar100':
      return loadCifar(file, { variant: format, split: o.split });
    case 'idx':
      return loadIdxFolder(file, o.split, o.argument);
  }
}

/**
 * IDX files (`train-images-idx3-ubyte` + `train-labels-idx1-ubyte`, or the t10k pair, optionally .gz) through
 * `loadIdx({ images, labels })` of @distillery/data.
 */
async function loadIdxFolder(dir: string, split: 'train' | 'test', argument: string): Promise<InMemoryDataset> {
  const prefix = split === 'train' ? 'train' : 't10k';
  const pick = (kind: 'images-idx3' | 'labels-idx1') => {
    for (const name of [`${prefix}-${kind}-ubyte`, `${prefix}-${kind}-ubyte.gz`]) {
      if (exists(path.join(dir, name))) return path.join(dir, name);
    }
    throw invalid('IO', argument, `${prefix}-${kind}-ubyte(.gz) in ${dir}`, 'no such file');
  };
  return loadIdx({ images: pick('images-idx3'), labels: pick('labels-idx1') });
}

/**
 * A stratified split: ⌊fraction·n_c⌉ examples of each class c go to validation (at least one when the class has two
 * or more), drawn with the seed; the rest is the training set.
 */
export function stratifiedFractionSplit(
  dataset: InMemoryDataset,
  fraction: number,
  seed: number,
): { train: InMemoryDataset; validation: InMemoryDataset } {
  const labels = dataset.labels();
  const byClass: number[][] = dataset.classNames.map(() => []);
  labels.forEach((y, i) => {
    byClass[y]!.push(i);
  });
  const rng = createRng(seed);
  const train: number[] = [];
  const validation: number[] = [];
  for (const indices of byClass) {
    rng.shuffle(indices);
    let k = Math.round(fraction * indices.length);
    if (k === 0 && indices.length >= 2) k = 1;
    if (k >= indices.length) k = indices.length - 1;
    validation.push(...indices.slice(0, k));
    train.push(...indices.slice(k));
  }
  if (validation.length === 0) {
    throw invalid(
      'OUT_OF_RANGE',
      '--val-split',
      'a fraction that leaves validation examples',
      `${fraction} of ${dataset.length} examples`,
    );
  }
  return {
    train: dataset.subset(train.sort((a, b) => a - b)),
    validation: dataset.subset(validation.sort((a, b) => a - b)),
  };
}
