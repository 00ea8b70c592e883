import { existsSync } from 'node:fs';
import path from 'node:path';
import { FASHION_MNIST_ROOT, fashionMnistFiles, type InMemoryDataset } from '@distillery/data';
import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { loadClassificationData } from './classification-data';
import { fashionMnistPools, fashionMnistSplit } from './fashion-mnist-split';

const present = (['train', 'test'] as const).every((split) => {
  const f = fashionMnistFiles(split);
  return existsSync(path.join(FASHION_MNIST_ROOT, f.images)) && existsSync(path.join(FASHION_MNIST_ROOT, f.labels));
});
if (!present) console.warn(`Skipping the Fashion-MNIST kit tests: ${FASHION_MNIST_ROOT} is missing.`);

const countsOf = (d: InMemoryDataset) => {
  const c = new Array<number>(10).fill(0);
  for (const y of d.labels()) c[y] = (c[y] ?? 0) + 1;
  return c;
};
/** The images of a dataset as strings of their bytes (to check that two splits share none). */
const keys = (d: InMemoryDataset) =>
  Array.from({ length: d.length }, (_, i) => Buffer.from(d.rawImage(i)).toString('base64'));

describe('fashionMnistSplit', () => {
  it('a missing dataset is loadFashionMnist’s error, naming the file', async () => {
    const error = await fashionMnistSplit({ seed: 0, root: '/no/such/fmnist' }).catch((e) => e);
    expect(error).toBeInstanceOf(DistilleryError);
    expect(error.message).toMatch(/train-images-idx3-ubyte/);
    expect(error.message).toMatch(/dataset-fashion-mnist/);
  });
});

describe.runIf(present)('fashionMnistSplit on the real files', () => {
  it('carves a stratified 500-per-class validation split from the training images, disjoint from the pool', async () => {
    const { pool, validation, test, note } = await fashionMnistPools({ seed: 0 });
    expect([pool.length, validation.length, test.length]).toEqual([55_000, 5_000, 10_000]);
    expect(countsOf(validation)).toEqual(new Array(10).fill(500));
    expect(countsOf(pool)).toEqual(new Array(10).fill(5_500));
    expect(countsOf(test)).toEqual(new Array(10).fill(1_000));
    expect(pool.imageShape).toEqual([28, 28, 1]);
    expect(note).toMatch(/10000-image test split; 5000 validation images/);
    const inPool = new Set(keys(pool));
    const shared = keys(validation).filter((k) => inPool.has(k)).length;
    // Fashion-MNIST has a handful of exact duplicate images; a leak of the carve would share ~all 5,000.
    expect(shared).toBeLessThan(20);
  });

  it('makes the training set long-tailed at the imbalance factor, head / mid / tail = 0–2 / 3–6 / 7–9', async () => {
    const s = await fashionMnistSplit({ seed: 0, imbalanceFactor: 100 });
    expect(s.counts[0]).toBe(5_500);
    expect(s.counts[9]).toBe(55);
    for (let c = 1; c < 10; c++) expect(s.counts[c]).toBeLessThan(s.counts[c - 1] as number);
    expect(countsOf(s.train)).toEqual(s.counts);
    expect(s.groups).toEqual({ head: [0, 1, 2], mid: [3, 4, 5, 6], tail: [7, 8, 9] });
    expect(s.test.length).toBe(10_000);
    const other = await fashionMnistSplit({ seed: 1, imbalanceFactor: 100 });
    expect(keys(other.validation.subset([0, 1, 2]))).not.toEqual(keys(s.validation.subset([0, 1, 2])));
  });

  it('without an imbalance factor the training set is the balanced pool; smoke keeps 20 / 5 / 10 per class', async () => {
    const s = await fashionMnistSplit({ seed: 0, smoke: true });
    expect(s.counts).toEqual(new Array(10).fill(20));
    expect(countsOf(s.validation)).toEqual(new Array(10).fill(5));
    expect(countsOf(s.test)).toEqual(new Array(10).fill(10));
    const lt = await fashionMnistSplit({ seed: 0, smoke: true, imbalanceFactor: 10 });
    expect([lt.counts[0], lt.counts[9]]).toEqual([20, 2]);
  });

  it('maxPerClass cuts the pool to a stratified subset before the long tail (n_max = maxPerClass)', async () => {
    const lt = await fashionMnistSplit({ seed: 0, imbalanceFactor: 100, maxPerClass: 1_500 });
    expect([lt.counts[0], lt.counts[9]]).toEqual([1_500, 15]);
    expect(countsOf(lt.pool)).toEqual(new Array(10).fill(1_500));
    const balanced = await fashionMnistSplit({ seed: 0, maxPerClass: 500 });
    expect(countsOf(balanced.train)).toEqual(new Array(10).fill(500));
    const other = await fashionMnistSplit({ seed: 1, maxPerClass: 500 });
    expect(keys(other.train.subset([0, 1, 2]))).not.toEqual(keys(balanced.train.subset([0, 1, 2])));
    // At least the pool's class size: the whole pool; smoke pools (20 per class) are left as they are.
    expect((await fashionMnistSplit({ seed: 0, maxPerClass: 9_999 })).train.length).toBe(55_000);
    expect((await fashionMnistSplit({ seed: 0, smoke: true, maxPerClass: 500 })).counts).toEqual(
      new Array(10).fill(20),
    );
    await expect(fashionMnistSplit({ seed: 0, maxPerClass: 0 })).rejects.toThrow(/options\.maxPerClass/);
  });

  it('is what loadClassificationData gives for --data fashion-mnist (28×28×1, smoke subset)', async () => {
    const d = await loadClassificationData('fashion-mnist', { seed: 0, smoke: true });
    expect([d.name, d.numClasses, d.imageSize, d.inChannels]).toEqual(['Fashion-MNIST', 10, 28, 1]);
    expect([d.pool.length, d.test.length, d.validation?.length]).toEqual([200, 100, 50]);
  });
});
