// Bad inputs of the reliability sweep for @distillery/data (the loaders, augmentations, datasets and the generators
// of this file's area; fewShotEpisode, hyperspectralLidar and metaInformation are covered by their own owners).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng, tf } from '@distillery/tensor';
import { expectDistilleryError, expectDistilleryErrorAsync } from '@distillery/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import {
  autoAugmentCifar10,
  cifarFiles,
  colorJitter,
  composedDigits,
  cutout,
  decodeIdx,
  decodeImage,
  epochBatches,
  fashionMnistFiles,
  headMidTail,
  InMemoryDataset,
  idxDataset,
  loadCifar,
  loadDigits,
  loadFashionMnist,
  loadIdx,
  loadImageFolder,
  longTail,
  mixupCutmix,
  normalize,
  parseCifar,
  parseIdx,
  pca,
  randAugment,
  randomCrop,
  randomHorizontalFlip,
  randomRotation,
  readTar,
  stratifiedSplit,
  stratifiedSubset,
  syntheticLongTail,
  weakStrongViews,
} from '../src/index';

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-data-robustness-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type BadCall = [call: () => unknown, argument: string];

const images = () => tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
const rng = () => new Rng(0);
/** Runs an augmentation on fresh images and frees them (the call is expected to throw). */
const aug = (f: (x: tf.Tensor4D) => unknown) => () => {
  const x = images();
  try {
    return f(x);
  } finally {
    x.dispose();
  }
};
const dataset = () =>
  new InMemoryDataset({ pixels: new Uint8Array(4 * 2 * 2 * 1), labels: [0, 1, 0, 1], imageShape: [2, 2, 1] });
/** A parsed 2-image 2×2 IDX images file and a labels file of `n` labels, named `file`. */
const imagesIdx = (file: string) => ({ dims: [2, 2, 2], data: new Uint8Array(8), file });
const labelsIdx = (file: string, n = 2) => ({ dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i), file });
const sampler = { length: 4, indices: () => Int32Array.from([0, 1, 2, 3]) };

/** Runs `f` on a fresh matrix and frees it (the call is expected to throw). */
const onMatrix = (shape: number[], f: (x: tf.Tensor) => unknown, values?: number[]) => () => {
  const x = values ? tf.tensor(values, shape) : tf.ones(shape);
  try {
    return f(x);
  } finally {
    x.dispose();
  }
};

const sync: Record<string, BadCall[]> = {
  pca: [
    [onMatrix([5], (x) => pca(x, { components: 1 })), 'x'],
    [onMatrix([1, 3], (x) => pca(x, { components: 1 })), 'x'],
    [onMatrix([2, 2], (x) => pca(x, { components: 1 }), [1, Number.NaN, 3, 4]), 'x'],
    [onMatrix([5, 3], (x) => pca(x, { components: 0 })), 'options.components'],
    [onMatrix([5, 3], (x) => pca(x, { components: 4 })), 'options.components'],
    [onMatrix([5, 3], (x) => pca(x, { components: 1.5 })), 'options.components'],
    [onMatrix([5, 3], (x) => pca(x, { components: 2, dims: 2 } as never)), 'options.dims'],
  ],
  randomCrop: [
    [aug((x) => randomCrop(x, rng(), { pading: 2 } as never)), 'options.pading'],
    [aug((x) => randomCrop(x, rng(), { padding: -1 })), 'options.padding'],
    [aug((x) => randomCrop(x, rng(), { fill: Number.NaN })), 'options.fill'],
  ],
  randomHorizontalFlip: [
    [aug((x) => randomHorizontalFlip(x, rng(), { prob: 0.5 } as never)), 'options.prob'],
    [aug((x) => randomHorizontalFlip(x, rng(), { p: 2 })), 'options.p'],
  ],
  randomRotation: [
    [aug((x) => randomRotation(x, rng(), { degree: 10 } as never)), 'options.degree'],
    [aug((x) => randomRotation(x, rng(), { interpolation: 'bicubic' as 'nearest' })), 'options.interpolation'],
    [aug((x) => randomRotation(x, rng(), { fill: Number.NaN })), 'options.fill'],
    [aug((x) => randomRotation(x, rng(), { degrees: -5 })), 'options.degrees'],
  ],
  colorJitter: [
    [aug((x) => colorJitter(x, rng(), { brightnes: 0.2 } as never)), 'options.brightnes'],
    [aug((x) => colorJitter(x, rng(), { path: 'gpu' as 'host' })), 'options.path'],
    [aug((x) => colorJitter(x, rng(), { randomOrder: 'yes' as never })), 'options.randomOrder'],
  ],
  cutout: [
    [aug((x) => cutout(x, rng(), { length: 4 } as never)), 'options.length'],
    [aug((x) => cutout(x, rng(), { p: -0.1 })), 'options.p'],
  ],
  normalize: [
    [aug((x) => normalize(x, [0.5, 0.5], [1, 1])), 'mean'],
    [aug((x) => normalize(x, [0, 0, 0], [1, 0, 1])), 'std[1]'],
  ],
  autoAugmentCifar10: [
    [aug((x) => autoAugmentCifar10(x, rng(), { fil: 0.5 } as never)), 'options.fil'],
    [aug((x) => autoAugmentCifar10(x, rng(), { path: 'cpu' as 'host' })), 'options.path'],
  ],
  randAugment: [
    [aug((x) => randAugment(x, rng(), { numOp: 2 } as never)), 'options.numOp'],
    [aug((x) => randAugment(x, rng(), { magnitude: 11 })), 'options.magnitude'],
    [aug((x) => randAugment(x, rng(), { ops: ['Blur' as never] })), 'options.ops[0]'],
    [aug((x) => randAugment(x, rng(), { path: 'fast' as 'host' })), 'options.path'],
  ],
  weakStrongViews: [
    [aug((x) => weakStrongViews(x, rng(), { polcy: 'randaugment' } as never)), 'options.polcy'],
    [aug((x) => weakStrongViews(x, rng(), { policy: 'trivial' as 'randaugment' })), 'options.policy'],
    [
      aug((x) => weakStrongViews(x, rng(), { policy: 'randaugment', randAugment: { magnitud: 5 } as never })),
      'options.randAugment.magnitud',
    ],
    // RandAugment options with the default AutoAugment policy would be silently ignored
    [aug((x) => weakStrongViews(x, rng(), { randAugment: { magnitude: 5 } })), 'options.randAugment'],
  ],
  mixupCutmix: [
    [
      () => {
        const x = images();
        const y = tf.tensor1d([0, 1], 'int32');
        try {
          return mixupCutmix(x, y, 3, rng(), { mixup_alpha: 0.2 } as never);
        } finally {
          tf.dispose([x, y]);
        }
      },
      'options.mixup_alpha',
    ],
    [
      () => {
        const x = images();
        const y = tf.tensor1d([0, 1], 'int32');
        try {
          return mixupCutmix(x, y, 3, rng(), { correctLam: 1 as never });
        } finally {
          tf.dispose([x, y]);
        }
      },
      'options.correctLam',
    ],
  ],
  InMemoryDataset: [
    [
      () => new InMemoryDataset({ pixels: new Uint8Array(4), labels: [0], imageShape: [2, 2, 1], scal: 1 } as never),
      'options.scal',
    ],
    [
      () => new InMemoryDataset({ pixels: new Uint8Array(4), labels: [-1], imageShape: [2, 2, 1] }),
      'options.labels[0]',
    ],
    [() => new InMemoryDataset(undefined as never), 'options'],
  ],
  epochBatches: [
    [() => epochBatches(dataset(), sampler, 0, 2, { droplast: true } as never).next(), 'options.droplast'],
    [() => epochBatches(dataset(), sampler, 0, 2, { startBatch: -1 }).next(), 'options.startBatch'],
    [() => epochBatches(dataset(), sampler, 0, 0).next(), 'batchSize'],
  ],
  stratifiedSplit: [
    [() => stratifiedSplit(dataset(), { testPerClass: 1, sed: 2 } as never), 'options.sed'],
    [() => stratifiedSplit(dataset(), { testPerClass: -1 }), 'options.testPerClass'],
    [() => stratifiedSplit(dataset(), undefined as never), 'options'],
  ],
  loadDigits: [
    [() => loadDigits({ scal: 1 } as never), 'options.scal'],
    [() => loadDigits({ scale: 0 }), 'options.scale'],
  ],
  composedDigits: [
    [() => composedDigits({ numImage: 5 } as never), 'options.numImage'],
    [() => composedDigits({ grid: 0 }), 'options.grid'],
  ],
  syntheticLongTail: [
    [() => syntheticLongTail({ numClass: 5 } as never), 'options.numClass'],
    [() => syntheticLongTail({ profile: 'linear' as 'exp' }), 'options.profile'],
    [() => syntheticLongTail({ channels: 2 as 3 }), 'options.channels'],
  ],
  parseCifar: [
    [() => parseCifar({}, { split: 'val' as 'test' }), 'options.split'],
    [() => parseCifar({}, { varient: 'cifar100' } as never), 'options.varient'],
    [() => parseCifar({ 'data_batch_1.bin': 'bytes' as never }), 'files["data_batch_1.bin"]'],
    [() => parseCifar(null as never), 'files'],
  ],
  cifarFiles: [
    [() => cifarFiles('cifar-10' as 'cifar10', 'train'), 'variant'],
    [() => cifarFiles('cifar10', 'val' as 'test'), 'split'],
  ],
  readTar: [[() => readTar(new Uint8Array(700).fill(7), 'x.tar'), 'x.tar']],
  parseIdx: [
    [() => parseIdx('bytes' as never), 'bytes'],
    [() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 1]), { file: 'short.idx' }), 'short.idx'],
    [() => parseIdx(new Uint8Array([0, 0, 9, 1, 0, 0, 0, 1, 1]), { file: 'signed.idx' }), 'signed.idx'],
    [() => parseIdx(new Uint8Array([8, 3, 0, 0]), { file: 'magic.idx' }), 'magic.idx'],
    [() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 1]), { fle: 'x' } as never), 'options.fle'],
    [() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 1]), { file: '' }), 'options.file'],
  ],
  idxDataset: [
    [() => idxDataset({ images: labelsIdx('l'), labels: labelsIdx('l2') }), 'l'],
    [() => idxDataset({ images: imagesIdx('i'), labels: imagesIdx('i2') }), 'i2'],
    [() => idxDataset({ images: imagesIdx('i'), labels: labelsIdx('l', 3) }), 'l'],
    [() => idxDataset({ images: imagesIdx('i'), labels: labelsIdx('l') }, { classNames: ['a'] }), 'l'],
    [() => idxDataset({ images: imagesIdx('i'), labels: 'x' as never }), 'parts.labels'],
    [() => idxDataset({ images: imagesIdx('i'), labels: labelsIdx('l'), extra: 1 } as never), 'parts.extra'],
  ],
  fashionMnistFiles: [[() => fashionMnistFiles('val' as 'test'), 'split']],
  longTail: [
    [() => longTail(dataset(), { imbalanceFactor: 0.5 }), 'options.imbalanceFactor'],
    [() => longTail(dataset(), { imbalanceFactor: 2, seed: 0.5 }), 'options.seed'],
    [() => longTail(dataset(), { imbalanceFactor: 2, maxCount: 3 }), 'labels (class 0)'],
    [() => longTail(dataset(), { imbalanceFactor: 2, profile: 'linear' as 'exp' }), 'options.profile'],
    [() => longTail(dataset(), { imbalance: 2 } as never), 'options.imbalance'],
    [() => longTail([] as never, { imbalanceFactor: 2 }), 'dataset'],
  ],
  headMidTail: [
    [() => headMidTail([]), 'counts'],
    [() => headMidTail([3, Number.NaN]), 'counts[1]'],
    [() => headMidTail([3, 2], { fractions: [0.6, 0.6] }), 'options.fractions'],
    [() => headMidTail([3, 2], { fraction: [0.3, 0.4] } as never), 'options.fraction'],
  ],
  stratifiedSubset: [
    [() => stratifiedSubset(dataset(), { perClass: 3 }), 'options.perClass'],
    [() => stratifiedSubset(dataset(), { perClass: 0 }), 'options.perClass'],
    [() => stratifiedSubset(dataset(), { perClass: 1, seed: Number.NaN }), 'options.seed'],
    [() => stratifiedSubset(dataset(), { perClass: 1, sed: 1 } as never), 'options.sed'],
    [() => stratifiedSubset(null as never, { perClass: 1 }), 'dataset'],
  ],
};

const emptyClassRoot = path.join(work, 'folder');
mkdirSync(path.join(emptyClassRoot, 'empty'), { recursive: true });

const asynchronous: Record<string, [() => Promise<unknown>, string][]> = {
  loadCifar: [
    [() => loadCifar(work, { split: 'val' as 'test' }), 'options.split'],
    [() => loadCifar(work, { labelMode: 'coarse' }), 'options.labelMode'],
    [() => loadCifar(42 as never), 'path'],
  ],
  loadImageFolder: [
    [() => loadImageFolder(emptyClassRoot), path.join(emptyClassRoot, 'empty')],
    [() => loadImageFolder(work, { channels: 4 as 3 }), 'options.channels'],
    [() => loadImageFolder(work, { extension: ['png'] } as never), 'options.extension'],
    [() => loadImageFolder(work, { size: [0, 4] }), 'options.size[0]'],
  ],
  decodeIdx: [
    [() => decodeIdx(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2]), { file: 'broken.gz' }), 'broken.gz'],
    [() => decodeIdx(null as never), 'bytes'],
  ],
  loadIdx: [
    [
      () => loadIdx({ images: path.join(work, 'none.gz'), labels: path.join(work, 'none2.gz') }),
      path.join(work, 'none.gz'),
    ],
    [() => loadIdx({ images: 42 as never, labels: new Uint8Array(1) }), 'options.images'],
    // Both bad: the images error is reported even though the labels one (no file system) fails first in time.
    [() => loadIdx({ images: path.join(work, 'none.gz'), labels: 42 as never }), path.join(work, 'none.gz')],
    [() => loadIdx({ images: new Uint8Array(1), labels: '' }), 'options.labels'],
    [
      () => loadIdx({ images: new Uint8Array(1), labels: new Uint8Array(1), clasNames: [] } as never),
      'options.clasNames',
    ],
    [() => loadIdx(undefined as never), 'options'],
  ],
  loadFashionMnist: [
    [() => loadFashionMnist({ root: work }), path.join(work, 'train-images-idx3-ubyte.gz')],
    [() => loadFashionMnist({ split: 'val' as 'test' }), 'options.split'],
    [() => loadFashionMnist({ root: '' }), 'options.root'],
    [() => loadFashionMnist({ path: work } as never), 'options.path'],
  ],
  decodeImage: [
    [() => decodeImage(new Uint8Array([1, 2, 3]), 'blob.bin'), 'blob.bin'],
    [() => decodeImage('png' as never), 'bytes'],
    [() => decodeImage(new Uint8Array(4), 'x', 2 as 3), 'channels'],
  ],
};

describe('@distillery/data robustness: every bad input is a DistilleryError naming the argument', () => {
  for (const [name, calls] of Object.entries(sync)) {
    it(`${name}: ${calls.length} bad inputs`, () => {
      const before = tf.memory().numTensors;
      for (const [call, argument] of calls) {
        expectDistilleryError(call, argument, { label: name });
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }
  for (const [name, calls] of Object.entries(asynchronous)) {
    it(`${name}: ${calls.length} bad inputs`, async () => {
      for (const [call, argument] of calls) {
        await expectDistilleryErrorAsync(call, argument, { label: name });
      }
    });
  }
});
