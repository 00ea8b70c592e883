import { DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { InMemoryDataset } from '../dataset/in-memory-dataset';
import { FASHION_SCENES, sceneImages } from './scene-digits';

/**
 * 10 classes × 3 images of 4×4 pixels (raw 0–255, scale 1/255): image i of class c has every pixel 10·c + i, except
 * its top-left pixel, which is 4 larger, so a 2×2 box average shows the averaging.
 */
function items(): InMemoryDataset {
  const n = 30;
  const pixels = new Uint8Array(n * 16);
  for (let k = 0; k < n; k++) {
    const [c, i] = [k % 10, Math.floor(k / 10)];
    pixels.fill(10 * c + i, k * 16, (k + 1) * 16);
    pixels[k * 16] = 10 * c + i + 4;
  }
  return new InMemoryDataset({
    pixels,
    labels: Array.from({ length: n }, (_, k) => k % 10),
    imageShape: [4, 4, 1],
    classNames: Array.from({ length: 10 }, (_, c) => `class ${c}`),
    scale: 1 / 255,
  });
}

describe('sceneImages', () => {
  it('paints items of one scene per image into a grid, box-averaged to the cell size, with multi-hot targets', () => {
    const ds = sceneImages(items(), { scenes: FASHION_SCENES, numImages: 40, cellSize: 2, noise: 0, seed: 1 });
    expect(ds.imageShape).toEqual([4, 4, 1]);
    const { images, targets } = ds.batch(Array.from({ length: 40 }, (_, i) => i));
    const [px, tg] = [images.dataSync(), targets.dataSync()];
    for (let n = 0; n < 40; n++) {
      const scene = FASHION_SCENES[ds.sceneOf[n]!]!;
      const present = Array.from({ length: 10 }, (_, c) => c).filter((c) => tg[n * 10 + c] === 1);
      expect(present.length).toBeGreaterThanOrEqual(2);
      expect(present.length).toBeLessThanOrEqual(3);
      for (const c of present) expect(scene).toContain(c); // noise 0: only the scene's classes
      for (let cell = 0; cell < 4; cell++) {
        const label = ds.slots[n * 4 + cell]!;
        // Cell (cy, cx) of a 2×2 grid of 2×2 cells: one item averaged over 2×2 blocks; its first block holds the +4.
        const [cy, cx] = [Math.floor(cell / 2) * 2, (cell % 2) * 2];
        const at = (y: number, x: number) => px[n * 16 + (cy + y) * 4 + cx + x]!;
        if (label < 0) {
          expect([at(0, 0), at(0, 1), at(1, 0), at(1, 1)]).toEqual([0, 0, 0, 0]);
          continue;
        }
        const base = at(0, 1) * 255;
        expect(Math.round(base) - 10 * label).toBeGreaterThanOrEqual(0);
        expect(Math.round(base) - 10 * label).toBeLessThan(3);
        expect(at(0, 0) * 255).toBeCloseTo(base + 1, 3); // (4 pixels, one of them +4) / 4
        expect(at(1, 1)).toBeCloseTo(at(0, 1), 6);
      }
    }
    tf.dispose([images, targets]);
  });

  it('is seeded; items keep their own size without cellSize', () => {
    const a = sceneImages(items(), { scenes: FASHION_SCENES, numImages: 20, seed: 4 });
    const b = sceneImages(items(), { scenes: FASHION_SCENES, numImages: 20, seed: 4 });
    expect(a.imageShape).toEqual([8, 8, 1]);
    expect(Array.from(a.slots)).toEqual(Array.from(b.slots));
  });

  it('refuses bad input with a DistilleryError naming the argument', () => {
    const ds = items();
    for (const [call, argument] of [
      [() => sceneImages({} as InMemoryDataset, { scenes: FASHION_SCENES }), /\bitems\b/],
      [() => sceneImages(ds, {} as never), /options\.scenes/],
      [() => sceneImages(ds, { scenes: FASHION_SCENES, cellSize: 3 }), /options\.cellSize.*divisor/],
      [() => sceneImages(ds, { scenes: FASHION_SCENES, minItems: 4 }), /options\.minItems/],
      [() => sceneImages(ds, { scenes: [[0, 0]] }), /options\.scenes\[0\]/],
      [() => sceneImages(ds, { scenes: FASHION_SCENES, minDigits: 2 } as never), /minDigits/],
    ] as const) {
      expect(call).toThrowError(DistilleryError);
      expect(call).toThrowError(argument);
    }
  });
});
