import { assertNoTensorLeak, createRng, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { autoAugmentCifar10, CIFAR10_POLICY } from './auto-augment';
import { colorJitter, cutout, normalize, randomCrop, randomHorizontalFlip, randomRotation } from './basic';
import { applyAffine, rotationMap } from './common';
import { mixupCutmix } from './mixup';
import { randAugment } from './rand-augment';
import { weakStrongViews } from './views';

const B = 6;
const H = 8;
const W = 10;
const C = 3;
/** Distinct pixel values so that every copy can be traced. */
function images(): tf.Tensor4D {
  const v = Float32Array.from({ length: B * H * W * C }, (_, i) => ((i * 37) % 997) / 997 + 0.0005);
  return tf.tensor4d(v, [B, H, W, C]);
}
const px = (t: tf.Tensor) => t.arraySync() as number[][][][];

describe('randomCrop / flip / rotation', () => {
  it('randomCrop copies an H×W window of the zero-padded image (one per-sample offset)', () => {
    const x = images();
    const out = px(randomCrop(x, createRng(1), { padding: 2 }));
    const src = px(x);
    const at = (b: number, y: number, xx: number, c: number) =>
      y < 0 || y >= H || xx < 0 || xx >= W ? 0 : src[b]![y]![xx]![c]!;
    let shifted = 0;
    for (let b = 0; b < B; b++) {
      let found = false;
      for (let dy = -2; dy <= 2 && !found; dy++) {
        for (let dx = -2; dx <= 2 && !found; dx++) {
          let ok = true;
          for (let y = 0; y < H && ok; y++)
            for (let xx = 0; xx < W && ok; xx++)
              for (let c = 0; c < C && ok; c++) ok = Math.abs(out[b]![y]![xx]![c]! - at(b, y + dy, xx + dx, c)) < 1e-6;
          if (ok) {
            found = true;
            if (dy !== 0 || dx !== 0) shifted++;
          }
        }
      }
      expect(found, `sample ${b}`).toBe(true);
    }
    expect(shifted).toBeGreaterThan(0);
    x.dispose();
  });

  it('same seed → same result; flip mirrors exactly the chosen samples', () => {
    const x = images();
    const a = randomHorizontalFlip(x, createRng(5));
    const b = randomHorizontalFlip(x, createRng(5));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const mirrored = px(tf.reverse(x, 2));
    const orig = px(x);
    const out = px(a);
    let flips = 0;
    for (let i = 0; i < B; i++) {
      const isFlip = JSON.stringify(out[i]) === JSON.stringify(mirrored[i]);
      const isSame = JSON.stringify(out[i]) === JSON.stringify(orig[i]);
      expect(isFlip || isSame).toBe(true);
      if (isFlip) flips++;
    }
    const all = px(randomHorizontalFlip(x, createRng(5), { p: 1 }));
    expect(JSON.stringify(all)).toBe(JSON.stringify(mirrored));
    expect(flips).toBeGreaterThanOrEqual(0);
    tf.dispose([x, a, b]);
  });

  it('rotation map: 90° on a square image is an exact transpose-and-flip; 0° is the identity', () => {
    const sq = tf.tensor4d(
      Float32Array.from({ length: 25 }, (_, i) => i),
      [1, 5, 5, 1],
    );
    const r = applyAffine(sq, [rotationMap(Math.PI / 2, 5, 5)], 'nearest', 0);
    // counter-clockwise: the input's right column becomes the output's top row
    const grid = (r.arraySync() as number[][][][])[0]!.map((row) => row.map((v) => v[0]));
    expect(grid[0]).toEqual([4, 9, 14, 19, 24]);
    expect(grid.map((row) => row[0])).toEqual([4, 3, 2, 1, 0]);
    const id = randomRotation(sq, createRng(0), { degrees: 0 });
    expect(Array.from(id.dataSync())).toEqual(Array.from(sq.dataSync()));
    // every image of a batch is transformed (tfjs-backend-cpu's Transform kernel only does the first one)
    const x = images();
    const same = randomRotation(x, createRng(0), { degrees: 0 });
    expect(Array.from(same.dataSync())).toEqual(Array.from(x.dataSync()));
    const turned = applyAffine(x, new Array(B).fill(rotationMap(Math.PI, H, W)), 'bilinear', 0);
    const back = applyAffine(turned, new Array(B).fill(rotationMap(Math.PI, H, W)), 'bilinear', 0);
    expect(tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]).toBeLessThan(1e-5);
    // the host path (cpu, wasm) and the gather path (WebGPU, WebGL) give the same images
    const maps = Array.from({ length: B }, (_, b) => rotationMap(0.3 * b - 0.7, H, W));
    for (const interp of ['nearest', 'bilinear'] as const) {
      const host = applyAffine(x, maps, interp, 0.25, 'host');
      const device = applyAffine(x, maps, interp, 0.25, 'device');
      expect(tf.max(tf.abs(tf.sub(host, device))).dataSync()[0]).toBeLessThan(1e-6);
      tf.dispose([host, device]);
    }
    tf.dispose([sq, r, id, x, same, turned, back]);
  });
});

describe('colour jitter, cutout, normalize', () => {
  it('brightness-only jitter scales each image by one factor in [0.6, 1.4]', () => {
    const x = tf.mul(images(), 0.5) as tf.Tensor4D;
    const out = colorJitter(x, createRng(2), { brightness: 0.4, contrast: 0, saturation: 0 });
    const ratio = px(tf.div(out, x));
    for (let b = 0; b < B; b++) {
      const f = ratio[b]![0]![0]![0]!;
      expect(f).toBeGreaterThanOrEqual(0.6);
      expect(f).toBeLessThanOrEqual(1.4);
      for (const row of ratio[b]!) for (const p of row) for (const v of p) expect(v).toBeCloseTo(f, 4);
    }
    const all = colorJitter(x, createRng(2));
    expect(tf.min(all).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.max(all).dataSync()[0]).toBeLessThanOrEqual(1);
    tf.dispose([x, out, all]);
  });

  it('cutout zeroes one clipped square per image and leaves the rest', () => {
    const x = images();
    const out = px(cutout(x, createRng(3), { size: 4 }));
    const src = px(x);
    for (let b = 0; b < B; b++) {
      let zero = 0;
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) {
          if (out[b]![y]![xx]![0] === 0) zero++;
          else expect(out[b]![y]![xx]).toEqual(src[b]![y]![xx]);
        }
      expect(zero).toBeLessThanOrEqual(16);
    }
    const n = normalize(x, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);
    expect(n.dataSync()[0]).toBeCloseTo((x.dataSync()[0]! - 0.5) / 0.25, 5);
    expect(() => normalize(x, [0.5], [1])).toThrow(/mean/);
    tf.dispose([x, n]);
  });
});

describe('RandAugment', () => {
  it('keeps shape and range, reproduces by seed, identity for 0 ops', () => {
    const x = images();
    const a = randAugment(x, createRng(9));
    const b = randAugment(x, createRng(9));
    expect(a.shape).toEqual(x.shape);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(tf.min(a).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.max(a).dataSync()[0]).toBeLessThanOrEqual(1);
    const none = randAugment(x, createRng(9), { numOps: 0 });
    expect(Array.from(none.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, a, b, none]);
  });

  it('single ops do what timm does: Invert, Posterize (m = 5 → 2 bits), Solarize', () => {
    const x = images();
    const inv = randAugment(x, createRng(1), { numOps: 1, prob: 1, ops: ['Invert'] });
    expect(inv.dataSync()[7]).toBeCloseTo(1 - x.dataSync()[7]!, 6);
    const post = randAugment(x, createRng(1), {
      numOps: 1,
      prob: 1,
      magnitudeStd: 0,
      magnitude: 5,
      ops: ['PosterizeIncreasing'],
    });
    for (const v of post.dataSync()) expect(Math.round(v * 255) % 64).toBe(0);
    const sol = randAugment(x, createRng(1), {
      numOps: 1,
      prob: 1,
      magnitudeStd: 0,
      magnitude: 5,
      ops: ['SolarizeIncreasing'],
    });
    const xs = x.dataSync();
    sol.dataSync().forEach((v, i) => {
      expect(v).toBeCloseTo(xs[i]! >= 128 / 255 ? 1 - xs[i]! : xs[i]!, 6); // PIL: 8-bit value >= 128
    });
    expect(() => randAugment(x, createRng(1), { ops: ['Cutout' as 'Invert'] })).toThrow(/options.ops\[0\]/);
    tf.dispose([x, inv, post, sol]);
  });
});

describe('AutoAugment CIFAR10Policy', () => {
  it('has the 25 sub-policies, keeps shape and range, reproduces by seed, and agrees across paths', () => {
    expect(CIFAR10_POLICY.length).toBe(25);
    const x = images();
    const a = autoAugmentCifar10(x, createRng(4));
    const b = autoAugmentCifar10(x, createRng(4));
    expect(a.shape).toEqual(x.shape);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(tf.min(a).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.max(a).dataSync()[0]).toBeLessThanOrEqual(1);
    let changed = 0;
    const xs = x.dataSync();
    const as = a.dataSync();
    for (let i = 0; i < xs.length; i++) if (Math.abs(xs[i]! - as[i]!) > 1e-6) changed++;
    expect(changed).toBeGreaterThan(0);
    const h = autoAugmentCifar10(x, createRng(6), { path: 'host' });
    const d = autoAugmentCifar10(x, createRng(6), { path: 'device' });
    const hv = h.dataSync();
    const dv = d.dataSync();
    let off = 0;
    for (let i = 0; i < hv.length; i++) if (Math.abs(hv[i]! - dv[i]!) > 1e-5) off++;
    expect(off / hv.length).toBeLessThanOrEqual(0.001);
    tf.dispose([x, a, b, h, d]);
  });
});

describe('mixup / cutmix (timm batch mode)', () => {
  const labels = () => tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32');

  it('mixup: x ← λx + (1−λ)flip(x), targets λ·y_ls + (1−λ)·y_ls(flip)', () => {
    const x = images();
    const y = labels();
    const r = mixupCutmix(x, y, 5, createRng(4), { cutmixAlpha: 0 });
    expect(r.mode).toBe('mixup');
    const expected = tf.add(tf.mul(x, r.lambda), tf.mul(tf.reverse(x, 0), 1 - r.lambda));
    expect(tf.max(tf.abs(tf.sub(r.images, expected))).dataSync()[0]).toBeLessThan(1e-6);
    const t = r.targets.arraySync();
    // sample 1 (class 1) is partnered with sample 4 (class 4): ε/C = 0.02 off, 0.92 on
    expect(t[1]![1]).toBeCloseTo(r.lambda * 0.92 + (1 - r.lambda) * 0.02, 6);
    expect(t[1]![4]).toBeCloseTo(r.lambda * 0.02 + (1 - r.lambda) * 0.92, 6);
    for (const row of t) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    tf.dispose([x, y, r.images, r.targets, expected]);
  });

  it('cutmix: the box comes from the partner and λ is area-corrected', () => {
    const x = images();
    const y = labels();
    const r = mixupCutmix(x, y, 5, createRng(7), { mixupAlpha: 0 });
    expect(r.mode).toBe('cutmix');
    const [y1, y2, x1, x2] = r.box!;
    expect(r.lambda).toBeCloseTo(1 - ((y2 - y1) * (x2 - x1)) / (H * W), 12);
    const out = px(r.images);
    const src = px(x);
    for (let b = 0; b < B; b++)
      for (let yy = 0; yy < H; yy++)
        for (let xx = 0; xx < W; xx++) {
          const inBox = yy >= y1 && yy < y2 && xx >= x1 && xx < x2;
          expect(out[b]![yy]![xx]).toEqual(src[inBox ? B - 1 - b : b]![yy]![xx]);
        }
    const none = mixupCutmix(x, y, 5, createRng(7), { prob: 0 });
    expect(none.mode).toBe('none');
    expect(none.lambda).toBe(1);
    expect(none.targets.arraySync()[0]![0]).toBeCloseTo(0.92, 6);
    expect(() => mixupCutmix(x, tf.tensor1d([0, 9, 0, 0, 0, 0], 'int32'), 5, createRng(1))).toThrow(/labels/);
    tf.dispose([x, y, r.images, r.targets, none.images, none.targets]);
  });
});

describe('augmentation in training loops', () => {
  it('no op leaks tensors; weak/strong views keep the shape', async () => {
    const x = images();
    const y = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32');
    const rng = createRng(11);
    await assertNoTensorLeak(() => randomCrop(x, rng), 3, 'randomCrop');
    await assertNoTensorLeak(() => randomHorizontalFlip(x, rng), 3, 'randomHorizontalFlip');
    await assertNoTensorLeak(() => randomRotation(x, rng), 3, 'randomRotation');
    await assertNoTensorLeak(() => colorJitter(x, rng), 3, 'colorJitter');
    await assertNoTensorLeak(() => cutout(x, rng, { size: 4 }), 3, 'cutout');
    await assertNoTensorLeak(() => randAugment(x, rng, { prob: 1 }), 3, 'randAugment');
    await assertNoTensorLeak(() => randAugment(x, rng, { prob: 1, path: 'device' }), 3, 'randAugment (device)');
    await assertNoTensorLeak(() => autoAugmentCifar10(x, rng), 3, 'autoAugmentCifar10');
    await assertNoTensorLeak(
      () => {
        const r = mixupCutmix(x, y, 5, rng);
        return [r.images, r.targets];
      },
      4,
      'mixupCutmix',
    );
    const v = weakStrongViews(x, rng, { cutoutSize: 4 });
    expect(v.weak.shape).toEqual(x.shape);
    expect(v.strong.shape).toEqual(x.shape);
    await assertNoTensorLeak(
      () => {
        const w = weakStrongViews(x, rng, { cutoutSize: 4 });
        return [w.weak, w.strong];
      },
      2,
      'weakStrongViews',
    );
    tf.dispose([x, y, v.weak, v.strong]);
  });

  it('rejects non-batches', () => {
    const t = tf.zeros([4, 4, 3]);
    expect(() => randomCrop(t as unknown as tf.Tensor4D, createRng(0))).toThrow(/images/);
    t.dispose();
  });
});

describe('same seed, same images on every backend', () => {
  it('cpu and wasm agree for every augmentation', async () => {
    const original = tf.getBackend();
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const x = images();
      const y = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32');
      const rng = createRng(21);
      const outs = [
        randomCrop(x, rng),
        randomHorizontalFlip(x, rng),
        randomRotation(x, rng),
        colorJitter(x, rng),
        cutout(x, rng, { size: 4 }),
        randAugment(x, rng, { prob: 1 }),
        autoAugmentCifar10(x, rng),
        mixupCutmix(x, y, 5, rng).images,
      ];
      const values = outs.map((t) => Array.from(t.dataSync()));
      tf.dispose([x, y, ...outs]);
      return values;
    };
    try {
      const cpu = await run('cpu');
      const wasm = await run('wasm');
      cpu.forEach((v, k) => {
        let worst = 0;
        v.forEach((a, i) => {
          worst = Math.max(worst, Math.abs(a - wasm[k]![i]!));
        });
        expect(worst, `augmentation ${k}`).toBeLessThan(1e-5);
      });
    } finally {
      await tf.setBackend(original);
    }
  });
});

describe('host and tensor paths agree', () => {
  it('colorJitter and every RandAugment op give the same images on both paths', () => {
    const x = images();
    const close = (a: tf.Tensor, b: tf.Tensor, label: string) => {
      const va = a.dataSync();
      const vb = b.dataSync();
      let off = 0;
      for (let i = 0; i < va.length; i++) if (Math.abs(va[i]! - vb[i]!) > 1e-5) off++;
      // threshold ops (solarize, posterize) may flip exactly at a boundary from float rounding: allow 0.1%
      expect(off / va.length, label).toBeLessThanOrEqual(0.001);
    };
    const a = colorJitter(x, createRng(3), { path: 'host' });
    const b = colorJitter(x, createRng(3), { path: 'device' });
    close(a, b, 'colorJitter');
    const fixed = colorJitter(x, createRng(3), { path: 'host', randomOrder: false });
    const fixedDevice = colorJitter(x, createRng(3), { path: 'device', randomOrder: false });
    close(fixed, fixedDevice, 'colorJitter (fixed order)');
    // random and fixed order give different images (different draws and op orders)
    expect(tf.max(tf.abs(tf.sub(a, fixed))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([a, b, fixed, fixedDevice]);
    for (const op of [
      'AutoContrast',
      'Invert',
      'PosterizeIncreasing',
      'SolarizeIncreasing',
      'SolarizeAdd',
      'ColorIncreasing',
      'ContrastIncreasing',
      'BrightnessIncreasing',
      'SharpnessIncreasing',
      'Equalize',
      'Rotate',
    ] as const) {
      const h = randAugment(x, createRng(8), { numOps: 2, prob: 1, ops: [op], path: 'host' });
      const d = randAugment(x, createRng(8), { numOps: 2, prob: 1, ops: [op], path: 'device' });
      close(h, d, op);
      tf.dispose([h, d]);
    }
    const h = randAugment(x, createRng(9), { numOps: 3, path: 'host' });
    const d = randAugment(x, createRng(9), { numOps: 3, path: 'device' });
    close(h, d, 'mixed policy');
    tf.dispose([x, h, d]);
  });
});
