import { longTailCounts } from '@distillery/samplers';
import { createRng, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { loadDigits } from '../digits/load-digits';
import { composedDigits } from './composed-digits';
import { fewShotEpisode } from './few-shot';
import { hyperspectralLidar } from './hyperspectral-lidar';
import { encodeMetaInformation, metaInformation } from './meta-information';
import { syntheticLongTail } from './synthetic-long-tail';

describe('syntheticLongTail', () => {
  it('follows the long-tail counts, has a balanced test set, is seeded and learnable (nearest class mean)', () => {
    const { train, test, counts } = syntheticLongTail({ numClasses: 5, maxCount: 40, imbalanceFactor: 10, seed: 1 });
    expect(counts).toEqual(longTailCounts({ numClasses: 5, maxCount: 40, imbalanceFactor: 10 }));
    expect(train.classCounts()).toEqual(counts);
    expect(test.classCounts()).toEqual([20, 20, 20, 20, 20]);
    const again = syntheticLongTail({ numClasses: 5, maxCount: 40, imbalanceFactor: 10, seed: 1 });
    expect(Array.from(again.train.rawImage(7))).toEqual(Array.from(train.rawImage(7)));
    const size = 16 * 16 * 3;
    const means = Array.from({ length: 5 }, () => new Float64Array(size));
    for (let i = 0; i < train.length; i++) {
      const c = train.label(i);
      const img = train.rawImage(i);
      for (let j = 0; j < size; j++) means[c]![j]! += img[j]! / counts[c]!;
    }
    let hit = 0;
    for (let i = 0; i < test.length; i++) {
      const img = test.rawImage(i);
      let best = -1;
      let bestD = Number.POSITIVE_INFINITY;
      means.forEach((m, c) => {
        let d = 0;
        for (let j = 0; j < size; j++) d += (img[j]! - m[j]!) ** 2;
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      });
      if (best === test.label(i)) hit++;
    }
    expect(hit / test.length).toBeGreaterThan(0.8);
    for (const v of train.rawImage(0)) expect(v >= 0 && v <= 1).toBe(true);
  });
});

describe('composedDigits', () => {
  it('places real digit images in grid cells and targets the multi-hot set of placed digits', () => {
    const ds = composedDigits({ numImages: 30, seed: 2 });
    expect(ds.imageShape).toEqual([16, 16, 1]);
    const { images, targets } = ds.batch([0, 1, 2]);
    const img = images.arraySync() as number[][][][];
    const t = targets.arraySync();
    for (let n = 0; n < 3; n++) {
      const present = new Set<number>();
      let placed = 0;
      for (let cell = 0; cell < 4; cell++) {
        const d = ds.slots[n * 4 + cell]!;
        const cy = Math.floor(cell / 2) * 8;
        const cx = (cell % 2) * 8;
        let sum = 0;
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) sum += img[n]![cy + y]![cx + x]![0]!;
        if (d >= 0) {
          present.add(d);
          placed++;
          expect(sum).toBeGreaterThan(0);
        } else expect(sum).toBe(0);
      }
      expect(placed >= 1 && placed <= 3).toBe(true);
      t[n]!.forEach((v, c) => {
        expect(v).toBe(present.has(c) ? 1 : 0);
      });
    }
    // the cells hold genuine UCI digit images
    const digits = loadDigits({ scale: 1 });
    const used = [0, 1, 2, 3].find((c) => ds.slots[c]! >= 0)!;
    const oy = Math.floor(used / 2) * 8;
    const ox = (used % 2) * 8;
    const cell = Array.from({ length: 64 }, (_, k) => img[0]![oy + Math.floor(k / 8)]![ox + (k % 8)]![0]!);
    const match = Array.from({ length: digits.length }, (_, i) => i).some(
      (i) =>
        digits.label(i) === ds.slots[used] &&
        Array.from(digits.rawImage(i)).every((v, k) => Math.abs(v / 16 - cell[k]!) < 1e-6),
    );
    expect(match).toBe(true);
    tf.dispose([images, targets]);
  });
});

describe('hyperspectralLidar', () => {
  it('pairs 11×11×63 HSI and 11×11×1 LiDAR patches whose centre spectra identify the class', () => {
    const set = hyperspectralLidar({ numSamples: 60, seed: 3 });
    expect(set.hsiShape).toEqual([11, 11, 63]);
    expect(set.lidarShape).toEqual([11, 11, 1]);
    const { hsi, lidar, labels } = set.batch([0, 1, 6]);
    expect(hsi.shape).toEqual([3, 11, 11, 63]);
    expect(lidar.shape).toEqual([3, 11, 11, 1]);
    expect(Array.from(labels.dataSync())).toEqual([0, 1, 0]);
    const centre = (n: number) => {
      const o = ((n * 11 + 5) * 11 + 5) * 63;
      return Array.from(set.hsi.subarray(o, o + 63));
    };
    const dist = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0);
    // same class closer than different classes
    expect(dist(centre(0), centre(6))).toBeLessThan(dist(centre(0), centre(1)));
    tf.dispose([hsi, lidar, labels]);
  });
});

describe('meta information', () => {
  it('encodes date and location as MetaFormer does, with zeros when missing', () => {
    const enc = encodeMetaInformation([
      { month: 3, hour: 6, latitude: 0, longitude: 90 },
      { month: 12, hour: null, latitude: null, longitude: null },
      { month: null, hour: 5, latitude: 90, longitude: 0 },
    ]);
    const row = (i: number) => Array.from(enc.subarray(i * 7, i * 7 + 7));
    const expected0 = [1, 0, 1, 0, 0, 1, 0];
    row(0).forEach((v, j) => {
      expect(v).toBeCloseTo(expected0[j]!, 6);
    });
    expect(row(1)[0]).toBeCloseTo(0, 6);
    expect(row(1)[1]).toBeCloseTo(1, 6);
    expect(row(1).slice(2)).toEqual([0, 0, 0, 0, 0]);
    expect(row(2).slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(row(2)[6]).toBeCloseTo(1, 6);
  });

  it('is class-correlated, seeded and honours the missing rate', () => {
    const labels = Array.from({ length: 400 }, (_, i) => i % 2);
    const meta = metaInformation(labels, { seed: 4, missingRate: 0.25 });
    expect(metaInformation(labels, { seed: 4, missingRate: 0.25 })).toEqual(meta);
    const missing = meta.filter((m) => m.month === null).length / meta.length;
    expect(Math.abs(missing - 0.25)).toBeLessThan(0.08);
    for (const m of meta) {
      if (m.month !== null) expect(m.month >= 1 && m.month <= 12 && m.hour! >= 0 && m.hour! < 24).toBe(true);
    }
    const lat = (c: number) => {
      const v = meta.filter((m, i) => labels[i] === c && m.latitude !== null).map((m) => m.latitude!);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const spread = meta.filter((m, i) => labels[i] === 0 && m.latitude !== null).map((m) => m.latitude! - lat(0));
    expect(Math.sqrt(spread.reduce((a, b) => a + b * b, 0) / spread.length)).toBeLessThan(8);
  });
});

describe('fewShotEpisode', () => {
  it('draws N classes, K + Q distinct samples per class, support first', () => {
    const digits = loadDigits();
    const labels = digits.labels();
    const ep = fewShotEpisode(labels, { nWay: 5, kShot: 2, qQuery: 3, rng: createRng(5) });
    expect(new Set(ep.classes).size).toBe(5);
    expect(ep.support.length).toBe(10);
    expect(ep.query.length).toBe(15);
    expect(new Set([...ep.support, ...ep.query]).size).toBe(25);
    ep.support.forEach((i, k) => {
      expect(labels[i]).toBe(ep.classes[ep.supportLabels[k]!]);
    });
    ep.query.forEach((i, k) => {
      expect(labels[i]).toBe(ep.classes[ep.queryLabels[k]!]);
    });
    expect(Array.from(ep.supportLabels)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    const again = fewShotEpisode(labels, { nWay: 5, kShot: 2, qQuery: 3, rng: createRng(5) });
    expect(Array.from(again.query)).toEqual(Array.from(ep.query));
  });

  it('throws when too few classes have K + Q samples', () => {
    const labels = [0, 0, 0, 1, 1, 2];
    expect(() => fewShotEpisode(labels, { nWay: 2, kShot: 1, qQuery: 2, rng: createRng(0) })).toThrow(/options.nWay/);
    expect(fewShotEpisode(labels, { nWay: 1, kShot: 1, qQuery: 2, rng: createRng(0) }).classes).toEqual([0]);
  });
});
