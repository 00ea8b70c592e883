import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DistilleryError, tf } from '@distillery/tensor';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCifar, parseCifar } from './cifar';
import { decodeImage, loadImageFolder } from './image-folder';
import { readTar } from './tar';

const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-data-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** One CIFAR record: label byte(s) then R, G, B planes; pixel (y, x, c) = (label·7 + y·3 + x + c·50) mod 256. */
function record(labels: number[], seed: number): Uint8Array {
  const out = new Uint8Array(labels.length + 3072);
  out.set(labels);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) out[labels.length + c * 1024 + y * 32 + x] = (seed * 7 + y * 3 + x + c * 50) % 256;
  return out;
}
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** A minimal ustar writer for the tests. */
function tar(files: Record<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, data] of Object.entries(files)) {
    const h = new Uint8Array(512);
    const put = (s: string, at: number) => {
      for (let i = 0; i < s.length; i++) h[at + i] = s.charCodeAt(i);
    };
    put(name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put('        ', 148);
    h[156] = 48;
    put('ustar\x0000', 257);
    const sum = h.reduce((a, b) => a + b, 0);
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return concat(parts);
}

function cifar10Files(): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (let b = 1; b <= 5; b++)
    files[`data_batch_${b}.bin`] = concat([record([b % 10], b), record([(b + 3) % 10], b + 10)]);
  files['test_batch.bin'] = record([9], 42);
  files['batches.meta.txt'] = new TextEncoder().encode(
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
  );
  return files;
}

describe('CIFAR binary loaders', () => {
  it('parses CIFAR-10 records into HWC images, labels and class names (browser entry point)', () => {
    const ds = parseCifar(cifar10Files());
    expect(ds.length).toBe(10);
    expect(ds.imageShape).toEqual([32, 32, 3]);
    expect(ds.classNames[3]).toBe('cat');
    expect(Array.from(ds.labels())).toEqual([1, 4, 2, 5, 3, 6, 4, 7, 5, 8]);
    const raw = ds.rawImage(2); // batch 2, first record: seed 2
    const at = (y: number, x: number, c: number) => raw[(y * 32 + x) * 3 + c];
    expect([at(0, 0, 0), at(1, 2, 1), at(31, 31, 2)]).toEqual([
      14,
      (14 + 3 + 2 + 50) % 256,
      (14 + 93 + 31 + 100) % 256,
    ]);
    const { images } = ds.batch([2]);
    expect(images.dataSync()[0]).toBeCloseTo(14 / 255, 6);
    images.dispose();
    const test = parseCifar(cifar10Files(), { split: 'test' });
    expect(Array.from(test.labels())).toEqual([9]);
  });

  it('reads CIFAR-100 fine and coarse labels', () => {
    const files = {
      'cifar-100-binary/train.bin': concat([record([3, 77], 1), record([19, 5], 2)]),
      'cifar-100-binary/coarse_label_names.txt': new TextEncoder().encode(
        Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n'),
      ),
    };
    const fine = parseCifar(files, { variant: 'cifar100' });
    expect(Array.from(fine.labels())).toEqual([77, 5]);
    expect(fine.classNames.length).toBe(100);
    const coarse = parseCifar(files, { variant: 'cifar100', labelMode: 'coarse' });
    expect(Array.from(coarse.labels())).toEqual([3, 19]);
    expect(coarse.classNames[19]).toBe('super19');
  });

  it('loads from a folder and from the .tar.gz archive in Node', async () => {
    const dir = tmp();
    const sub = path.join(dir, 'cifar-10-batches-bin');
    mkdirSync(sub);
    const files = cifar10Files();
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(sub, name), data);
    const fromDir = await loadCifar(dir);
    expect(fromDir.length).toBe(10);
    const archive = path.join(dir, 'cifar-10-binary.tar.gz');
    const entries = Object.fromEntries(Object.entries(files).map(([n, d]) => [`cifar-10-batches-bin/${n}`, d]));
    writeFileSync(archive, gzipSync(tar(entries)));
    const fromTar = await loadCifar(archive);
    expect(Array.from(fromTar.labels())).toEqual(Array.from(fromDir.labels()));
    expect(Array.from(fromTar.rawImage(9))).toEqual(Array.from(fromDir.rawImage(9)));
    expect(readTar(tar({ 'a/b.txt': new Uint8Array([1, 2]) })).get('a/b.txt')).toEqual(new Uint8Array([1, 2]));
  });

  it('missing and corrupt files throw DistilleryErrors naming the path', async () => {
    const dir = tmp();
    await expect(loadCifar(path.join(dir, 'nope'))).rejects.toThrow(/nope/);
    const files = cifar10Files();
    delete files['data_batch_4.bin'];
    expect(() => parseCifar(files)).toThrow(/data_batch_4.bin/);
    const bad = cifar10Files();
    bad['data_batch_2.bin'] = bad['data_batch_2.bin']!.subarray(0, 5000);
    expect(() => parseCifar(bad)).toThrow(/data_batch_2.bin/);
    const corrupt = path.join(dir, 'cifar.tar.gz');
    writeFileSync(corrupt, new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4]));
    await expect(loadCifar(corrupt)).rejects.toThrow(DistilleryError);
    await expect(loadCifar(corrupt)).rejects.toThrow(/cifar.tar.gz/);
    for (const [n, d] of Object.entries(cifar10Files()))
      if (n !== 'test_batch.bin') writeFileSync(path.join(dir, n), d);
    await expect(loadCifar(dir, { split: 'test' })).rejects.toThrow(/test_batch.bin/);
  });

  it("strict options: split 'val' is an error, not the test set; typos and CIFAR-10 labelMode are refused", async () => {
    const dir = tmp();
    for (const [n, d] of Object.entries(cifar10Files())) writeFileSync(path.join(dir, n), d);
    expect((await loadCifar(dir, { split: 'test' })).length).toBe(1);
    await expect(loadCifar(dir, { split: 'val' as 'test' })).rejects.toThrowError(
      /options\.split: expected one of "train", "test", got "val"/,
    );
    await expect(loadCifar(dir, { spilt: 'test' } as never)).rejects.toThrowError(
      /options\.spilt: unknown option \(did you mean "split"\?\)/,
    );
    expect(() => parseCifar(cifar10Files(), { variant: 'cifar-10' as 'cifar10' })).toThrowError(/options\.variant/);
    expect(() => parseCifar(cifar10Files(), { labelMode: 'coarse' })).toThrowError(/options\.labelMode/);
    expect(() => parseCifar(cifar10Files(), { variant: 'cifar100', labelMode: 'corse' as 'coarse' })).toThrowError(
      /options\.labelMode: expected one of "fine", "coarse"/,
    );
  });
});

function png(width: number, height: number, f: (x: number, y: number) => [number, number, number]): Uint8Array {
  const img = new pngjs.PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b] = f(x, y);
      const o = (y * width + x) * 4;
      img.data[o] = r;
      img.data[o + 1] = g;
      img.data[o + 2] = b;
      img.data[o + 3] = 255;
    }
  return new Uint8Array(pngjs.PNG.sync.write(img));
}

describe('image folder loader', () => {
  it('decodes PNG and JPEG files, numbers sorted class folders, scales by 1/255', async () => {
    const root = tmp();
    mkdirSync(path.join(root, 'dog'));
    mkdirSync(path.join(root, 'cat'));
    writeFileSync(
      path.join(root, 'cat', 'a.png'),
      png(5, 4, (x, y) => [x * 50, y * 60, 7]),
    );
    writeFileSync(
      path.join(root, 'cat', 'b.png'),
      png(5, 4, () => [255, 0, 0]),
    );
    const jpgData = new Uint8Array(5 * 4 * 4).fill(128);
    const jpg = jpeg.encode({ data: jpgData, width: 5, height: 4 }, 95).data;
    writeFileSync(path.join(root, 'dog', 'c.jpg'), jpg);
    writeFileSync(path.join(root, 'dog', 'notes.txt'), 'ignored');
    const ds = await loadImageFolder(root);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(ds.labels())).toEqual([0, 0, 1]);
    expect(ds.imageShape).toEqual([4, 5, 3]);
    const a = ds.rawImage(0);
    expect([a[(2 * 5 + 3) * 3], a[(2 * 5 + 3) * 3 + 1], a[(2 * 5 + 3) * 3 + 2]]).toEqual([150, 120, 7]);
    for (const v of ds.rawImage(2)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(3);
    const { images } = ds.batch([1]);
    expect(images.dataSync()[0]).toBeCloseTo(1, 6);
    images.dispose();
    const grey = await loadImageFolder(root, { channels: 1, size: [2, 2] });
    expect(grey.imageShape).toEqual([2, 2, 1]);
    expect(grey.rawImage(1)[0]).toBe(Math.round(0.299 * 255));
  });

  it('unreadable images, size mismatches and empty folders throw naming the file', async () => {
    const root = tmp();
    mkdirSync(path.join(root, 'a'));
    writeFileSync(
      path.join(root, 'a', 'x.png'),
      png(3, 3, () => [1, 2, 3]),
    );
    writeFileSync(
      path.join(root, 'a', 'y.png'),
      png(4, 3, () => [1, 2, 3]),
    );
    await expect(loadImageFolder(root)).rejects.toThrow(/y.png/);
    writeFileSync(path.join(root, 'a', 'y.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    await expect(loadImageFolder(root)).rejects.toThrow(/y.png/);
    await expect(loadImageFolder(path.join(root, 'missing'))).rejects.toThrow(/missing/);
    await expect(decodeImage(new Uint8Array([1, 2, 3]), 'blob.bin')).rejects.toThrow(/blob.bin/);
    const empty = tmp();
    await expect(loadImageFolder(empty)).rejects.toThrow(DistilleryError);
  });

  it('an empty class folder is an error naming the folder, not a class with 0 samples', async () => {
    const root = tmp();
    mkdirSync(path.join(root, 'cat'));
    mkdirSync(path.join(root, 'dog'));
    mkdirSync(path.join(root, 'emu'));
    writeFileSync(
      path.join(root, 'cat', 'a.png'),
      png(2, 2, () => [1, 2, 3]),
    );
    writeFileSync(
      path.join(root, 'emu', 'b.png'),
      png(2, 2, () => [1, 2, 3]),
    );
    writeFileSync(path.join(root, 'dog', 'notes.txt'), 'not an image');
    const error = await loadImageFolder(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).code).toBe('EMPTY_INPUT');
    expect((error as Error).message).toMatch(/dog.*class folder "dog"/);
    await expect(loadImageFolder(root, { size: [2, 2], chanels: 1 } as never)).rejects.toThrowError(
      /options\.chanels: unknown option \(did you mean "channels"\?\)/,
    );
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
