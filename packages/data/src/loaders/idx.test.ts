import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DistilleryError, tf } from '@distillery/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InMemoryDataset } from '../dataset/in-memory-dataset';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_ROOT, fashionMnistFiles, loadFashionMnist } from './fashion-mnist';
import { decodeIdx, idxDataset, loadIdx, parseIdx } from './idx';

const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-idx-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** An IDX file: magic 00 00 <type> <ndims>, big-endian dims, then `values`. */
function idx(dims: number[], values: ArrayLike<number>, type = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + values.length);
  out.set([0, 0, type, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  out.set(Array.from(values), 4 + 4 * dims.length);
  return out;
}

/** Bytes as a File part (TypeScript's BlobPart wants an ArrayBuffer-backed view). */
const bytesPart = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

/** The DistilleryError thrown by `f` (sync or async). */
async function errorOf(f: () => unknown): Promise<DistilleryError> {
  try {
    await f();
  } catch (error) {
    expect(error).toBeInstanceOf(DistilleryError);
    return error as DistilleryError;
  }
  throw new Error('expected a DistilleryError, nothing was thrown');
}

/** Runs `f` as a browser would: no synchronous Node gunzip (process.getBuiltinModule hidden). */
async function withoutNodeGunzip<T>(f: () => Promise<T> | T): Promise<T> {
  const proc = process as unknown as { getBuiltinModule?: unknown };
  const saved = proc.getBuiltinModule;
  proc.getBuiltinModule = undefined;
  try {
    return await f();
  } finally {
    proc.getBuiltinModule = saved;
  }
}

describe('parseIdx / decodeIdx on small files made here', () => {
  const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
  const images = idx([3, 2, 2], pixels);
  const labels = idx([3], [2, 0, 1]);

  it('reads dims and values (raw and gzip give the same), and builds a [N, H, W, 1] dataset scaled to [0, 1]', async () => {
    const raw = parseIdx(images, { file: 'a' });
    expect(raw.dims).toEqual([3, 2, 2]);
    expect(Array.from(raw.data)).toEqual(pixels);
    const gz = parseIdx(gzipSync(images), { file: 'a.gz' });
    expect(gz.dims).toEqual([3, 2, 2]);
    expect(Array.from(gz.data)).toEqual(pixels);
    const viaAsync = await decodeIdx(Uint8Array.from(gzipSync(images)).buffer);
    expect(Array.from(viaAsync.data)).toEqual(pixels);
    const ds = idxDataset({ images: raw, labels: parseIdx(labels) });
    expect(ds.imageShape).toEqual([2, 2, 1]);
    expect(Array.from(ds.labels())).toEqual([2, 0, 1]);
    const batch = ds.batch([2]);
    expect(batch.images.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(await batch.images.data())).toEqual(pixels.slice(8, 12).map((v) => Math.fround(v * (1 / 255))));
    tf.dispose([batch.images, batch.labels]);
  });

  it('a 4-dimensional images file keeps its channels', () => {
    const ds = idxDataset({
      images: parseIdx(idx([2, 1, 1, 3], [1, 2, 3, 4, 5, 6])),
      labels: parseIdx(idx([2], [0, 1])),
    });
    expect(ds.imageShape).toEqual([1, 1, 3]);
    expect(Array.from(ds.rawImage(1))).toEqual([4, 5, 6]);
  });

  it('gunzips with DecompressionStream where there is no Node zlib (the browser path), and says so in parseIdx', async () => {
    const decoded = await withoutNodeGunzip(() => decodeIdx(gzipSync(images), { file: 'picked.gz' }));
    expect(Array.from(decoded.data)).toEqual(pixels);
    const e = await withoutNodeGunzip(() => errorOf(() => parseIdx(gzipSync(images), { file: 'picked.gz' })));
    expect(e.argument).toBe('picked.gz');
    expect(e.message).toMatch(/decodeIdx/);
    const truncated = gzipSync(images).subarray(0, 20);
    const e2 = await withoutNodeGunzip(() => errorOf(() => decodeIdx(truncated, { file: 'cut.gz' })));
    expect([e2.code, e2.argument]).toEqual(['FORMAT', 'cut.gz']);
  });

  it('a wrong magic number is one FORMAT error naming the file', async () => {
    for (const bad of [
      Uint8Array.from([...images.subarray(0, 0), 1, 0, 8, 3, ...images.subarray(4)]),
      Uint8Array.from([0, 0, 8, 0, 0, 0, 0, 0]),
      Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0]), // a zip file
      new Uint8Array(2),
    ]) {
      const e = await errorOf(() => parseIdx(bad, { file: 'bad-magic' }));
      expect([e.code, e.argument]).toEqual(['FORMAT', 'bad-magic']);
    }
    const e = await errorOf(() => parseIdx(Uint8Array.from([1, 0, 8, 3]), { file: 'bad-magic' }));
    expect(e.message).toMatch(/magic number.*got 0x01 0x00 0x08 0x03/);
  });

  it('a type other than unsigned byte is refused by name, not misread', async () => {
    const e = await errorOf(() => parseIdx(idx([1], [0, 0, 0, 0], 0x0d), { file: 'floats.idx' }));
    expect([e.code, e.argument]).toEqual(['FORMAT', 'floats.idx']);
    expect(e.message).toMatch(/0x0d \(float32\)/);
  });

  it('a truncated file, a truncated header, trailing bytes and a cut gzip stream each give one error naming the file', async () => {
    const cut = await errorOf(() => parseIdx(images.subarray(0, images.length - 1), { file: 'cut.idx' }));
    expect([cut.code, cut.argument]).toEqual(['FORMAT', 'cut.idx']);
    expect(cut.message).toMatch(/expected 28 bytes.*got 27 bytes \(truncated\)/);
    const header = await errorOf(() => parseIdx(images.subarray(0, 10), { file: 'h.idx' }));
    expect(header.message).toMatch(/16-byte IDX header/);
    const trailing = await errorOf(() => parseIdx(Uint8Array.from([...images, 7]), { file: 't.idx' }));
    expect(trailing.message).toMatch(/trailing data/);
    const gz = gzipSync(images);
    const gzCut = await errorOf(() => parseIdx(gz.subarray(0, gz.length - 9), { file: 'cut.gz' }));
    expect([gzCut.code, gzCut.argument]).toEqual(['FORMAT', 'cut.gz']);
    const gzCutAsync = await errorOf(() => decodeIdx(gz.subarray(0, gz.length - 9), { file: 'cut.gz' }));
    expect(gzCutAsync.argument).toBe('cut.gz');
    // A gzip stream whose content is itself truncated: the IDX check names the file.
    const inner = await errorOf(() => decodeIdx(gzipSync(images.subarray(0, 20)), { file: 'inner.gz' }));
    expect(inner.message).toMatch(/truncated/);
  });

  it('an image/label count mismatch names the labels file and the images count; ranks are checked', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'img.gz'), gzipSync(images));
    writeFileSync(path.join(dir, 'lab'), idx([2], [0, 1]));
    const e = await errorOf(() => loadIdx({ images: path.join(dir, 'img.gz'), labels: path.join(dir, 'lab') }));
    expect([e.code, e.argument]).toEqual(['SHAPE_MISMATCH', path.join(dir, 'lab')]);
    expect(e.message).toMatch(/expected 3 labels .* has 3 images\), got 2 labels/);
    expect(e.message).toContain(path.join(dir, 'img.gz'));
    const rank = await errorOf(() => idxDataset({ images: parseIdx(labels, { file: 'l' }), labels: parseIdx(labels) }));
    expect([rank.code, rank.argument]).toEqual(['INVALID_RANK', 'l']);
    const names = await errorOf(() =>
      idxDataset({ images: parseIdx(images), labels: parseIdx(labels, { file: 'l' }) }, { classNames: ['a', 'b'] }),
    );
    expect([names.code, names.argument]).toEqual(['OUT_OF_RANGE', 'l']);
  });

  it('loadIdx takes paths, bytes and browser Files (named in errors); a missing path is an IO error naming it', async () => {
    const fromBytes = await loadIdx({ images: gzipSync(images), labels });
    expect(Array.from(fromBytes.labels())).toEqual([2, 0, 1]);
    const fromFiles = await loadIdx({
      images: new File([gzipSync(images)], 'picked-images.gz'),
      labels: new File([bytesPart(labels)], 'picked-labels'),
      classNames: ['a', 'b', 'c'],
    });
    expect(fromFiles.classNames).toEqual(['a', 'b', 'c']);
    expect(Array.from(fromFiles.rawImage(0))).toEqual(pixels.slice(0, 4));
    const named = await errorOf(() =>
      loadIdx({
        images: new File([bytesPart(images.subarray(0, 20))], 'picked-images'),
        labels: new File([bytesPart(labels)], 'l'),
      }),
    );
    expect(named.argument).toBe('picked-images');
    const bare = await errorOf(() => loadIdx({ images: images.subarray(0, 20), labels }));
    expect(bare.argument).toBe('options.images');
    const missing = path.join(tmp(), 'nope.gz');
    const io = await errorOf(() => loadIdx({ images: missing, labels }));
    expect([io.code, io.argument]).toEqual(['IO', missing]);
  });

  it('loadFashionMnist names the missing file and the Debian package that provides it', async () => {
    const dir = tmp();
    const e = await errorOf(() => loadFashionMnist({ root: dir, split: 'test' }));
    expect([e.code, e.argument]).toEqual(['IO', path.join(dir, 't10k-images-idx3-ubyte.gz')]);
    expect(e.message).toMatch(/dataset-fashion-mnist/);
    // Gunzipped files (no .gz) are found too, and the labels file is checked as well.
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), images);
    const e2 = await errorOf(() => loadFashionMnist({ root: dir, split: 'test' }));
    expect(e2.argument).toBe(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels));
    const small = await loadFashionMnist({ root: dir, split: 'test' });
    expect(small.classNames).toEqual([...FASHION_MNIST_CLASSES]);
    expect(Array.from(small.labels())).toEqual([2, 0, 1]);
  });
});

// The real Debian files (dataset-fashion-mnist). Without them the tests are skipped with a message, except in CI
// (process.env.CI set), where the package is installed by scripts/setup.sh and their absence is a failure.
const present = ['train', 'test'].every((split) => {
  const f = fashionMnistFiles(split as 'train' | 'test');
  return existsSync(path.join(FASHION_MNIST_ROOT, f.images)) && existsSync(path.join(FASHION_MNIST_ROOT, f.labels));
});
if (!present && !process.env.CI) {
  console.warn(
    `Skipping the Fashion-MNIST file tests: ${FASHION_MNIST_ROOT} is missing (sudo apt-get install dataset-fashion-mnist).`,
  );
}

describe.runIf(!present && process.env.CI)('Fashion-MNIST in CI', () => {
  it('is installed (scripts/setup.sh installs dataset-fashion-mnist)', () => {
    expect.fail(`${FASHION_MNIST_ROOT} is missing in CI: run scripts/setup.sh (apt-get install dataset-fashion-mnist)`);
  });
});

/** sha256 of all the pixels in dataset order, the sum of all pixel values, and the first image's sum. */
function digest(ds: InMemoryDataset): { sha256: string; sum: number; first: number } {
  const hash = createHash('sha256');
  let sum = 0;
  for (let i = 0; i < ds.length; i++) {
    const img = ds.rawImage(i);
    hash.update(img);
    for (const v of img) sum += v;
  }
  let first = 0;
  for (const v of ds.rawImage(0)) first += v;
  return { sha256: hash.digest('hex'), sum, first };
}

describe.runIf(present)('Fashion-MNIST from /usr/share/datasets/fashion-mnist (the real files)', () => {
  let train: InMemoryDataset;
  let test: InMemoryDataset;
  let parseMs = 0;
  beforeAll(async () => {
    const t0 = performance.now();
    train = await loadFashionMnist();
    parseMs = performance.now() - t0;
    test = await loadFashionMnist({ split: 'test' });
  });

  // Expected values computed independently with Python's gzip module over the Debian files (the pixel bytes after
  // the 16-byte header, their sum, sha256 and the first labels).
  it('train: 60,000 images [28, 28, 1], 6,000 per class, the known pixel checksum', () => {
    console.info(`loadFashionMnist() (train, 60,000 images, gunzip + parse): ${parseMs.toFixed(0)} ms`);
    expect(train.length).toBe(60000);
    expect(train.imageShape).toEqual([28, 28, 1]);
    expect(train.classNames).toEqual([...FASHION_MNIST_CLASSES]);
    expect(train.classCounts()).toEqual(new Array(10).fill(6000));
    expect(Array.from(train.labels().subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(digest(train)).toEqual({
      sha256: '2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012',
      sum: 3431114169,
      first: 76247,
    });
  });

  it('test: 10,000 images, 1,000 per class, the known pixel checksum; batches are float32 in [0, 1]', async () => {
    expect(test.length).toBe(10000);
    expect(test.classCounts()).toEqual(new Array(10).fill(1000));
    expect(Array.from(test.labels().subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    expect(digest(test)).toEqual({
      sha256: 'c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a',
      sum: 573469082,
      first: 33456,
    });
    const { images, labels } = test.batch([0, 1]);
    expect(images.shape).toEqual([2, 28, 28, 1]);
    expect(images.dtype).toBe('float32');
    expect(await images.max().array()).toBeLessThanOrEqual(1);
    expect(await images.min().array()).toBeGreaterThanOrEqual(0);
    expect((await images.slice([0], [1]).sum().array()) as number).toBeCloseTo(33456 / 255, 2);
    expect(Array.from(await labels.data())).toEqual([9, 2]);
    tf.dispose([images, labels]);
  });

  it('the gunzipped (raw) test files, and the browser path, give the same dataset', async () => {
    const files = fashionMnistFiles('test');
    const dir = tmp();
    for (const name of [files.images, files.labels]) {
      writeFileSync(
        path.join(dir, name.replace(/\.gz$/, '')),
        gunzipSync(readFileSync(path.join(FASHION_MNIST_ROOT, name))),
      );
    }
    const raw = await loadFashionMnist({ root: dir, split: 'test' });
    expect(digest(raw)).toEqual(digest(test));
    expect(Array.from(raw.labels())).toEqual(Array.from(test.labels()));
    const picked = await withoutNodeGunzip(() =>
      loadIdx({
        images: new File([readFileSync(path.join(FASHION_MNIST_ROOT, files.images))], files.images),
        labels: new File([readFileSync(path.join(FASHION_MNIST_ROOT, files.labels))], files.labels),
        classNames: FASHION_MNIST_CLASSES,
      }),
    );
    expect(digest(picked)).toEqual(digest(test));
  });
});
