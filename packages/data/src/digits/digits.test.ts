import { instanceBalancedSampler } from '@distillery/samplers';
import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/digits.json';
import { epochBatches } from '../dataset/batches';
import { InMemoryDataset } from '../dataset/in-memory-dataset';
import { loadDigits } from './load-digits';

describe('loadDigits (shipped UCI optical digits)', () => {
  it('equals sklearn load_digits: size, class counts, pixel sum, first and last images', () => {
    const ds = loadDigits({ scale: 1 });
    expect(ds.length).toBe(fixture.n);
    expect(ds.imageShape).toEqual([8, 8, 1]);
    expect(ds.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.classCounts()).toEqual(fixture.counts);
    expect(Array.from(ds.labels().slice(0, 20))).toEqual(fixture.labelsHead);
    let sum = 0;
    for (let i = 0; i < ds.length; i++) for (const v of ds.rawImage(i)) sum += v;
    expect(sum).toBe(fixture.pixelSum);
    const first = ds.get(0);
    expect(first.label).toBe(fixture.first.label);
    expect(Array.from(first.image.dataSync())).toEqual(fixture.first.pixels);
    first.image.dispose();
    expect(ds.label(ds.length - 1)).toBe(fixture.last.label);
    expect(Array.from(ds.rawImage(ds.length - 1))).toEqual(fixture.last.pixels);
  });

  it('scales to [0, 1] by default and batches as [B, 8, 8, 1] float32 + int32 labels', () => {
    const ds = loadDigits();
    const { images, labels } = ds.batch([0, 5, 1796]);
    expect(images.shape).toEqual([3, 8, 8, 1]);
    expect(labels.dtype).toBe('int32');
    expect(Array.from(labels.dataSync())).toEqual([ds.label(0), ds.label(5), ds.label(1796)]);
    expect(tf.max(images).dataSync()[0]).toBeLessThanOrEqual(1);
    expect(images.dataSync()[0 + 2]).toBeCloseTo(fixture.first.pixels[2]! / 16, 6);
    tf.dispose([images, labels]);
  });

  it('epoch batches follow the sampler and do not leak', async () => {
    const ds = loadDigits();
    const sampler = instanceBalancedSampler(ds.length, { seed: 3 });
    const order = sampler.indices(1);
    const seen: number[] = [];
    for (const b of epochBatches(ds, sampler, 1, 500)) {
      seen.push(...b.indices);
      expect(Array.from(b.labels.dataSync())).toEqual(Array.from(b.indices, (i) => ds.label(i)));
      tf.dispose([b.images, b.labels]);
    }
    expect(seen).toEqual(Array.from(order));
    await assertNoTensorLeak(
      () => {
        for (const b of epochBatches(ds, sampler, 0, 700, { dropLast: true })) tf.dispose([b.images, b.labels]);
      },
      2,
      'epochBatches',
    );
  });

  it('errors name the argument', () => {
    const ds = loadDigits();
    expect(() => ds.get(1797)).toThrow(/index/);
    expect(() => ds.batch([0, -1])).toThrow(/indices\[1\]/);
    expect(() => ds.batch([])).toThrow(/indices/);
    expect(() => new InMemoryDataset({ pixels: new Uint8Array(10), labels: [0, 1], imageShape: [2, 2, 1] })).toThrow(
      /options.pixels/,
    );
    const sub = ds.subset([3, 4]);
    expect(sub.length).toBe(2);
    expect(Array.from(sub.rawImage(1))).toEqual(Array.from(ds.rawImage(4)));
  });
});
