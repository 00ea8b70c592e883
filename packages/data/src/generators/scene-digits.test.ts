import { DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { DIGIT_SCENES, sceneDigits } from './scene-digits';

describe('sceneDigits', () => {
  it('labels of a scene co-occur: P(j | i) within a scene far above P(j | i) across scenes; seeded', () => {
    const ds = sceneDigits({ numImages: 2000, seed: 4 });
    const C = 10;
    const co = new Float64Array(C * C);
    const n = new Float64Array(C);
    for (let i = 0; i < ds.length; i++) {
      const row = ds.targets.subarray(i * C, (i + 1) * C);
      for (let a = 0; a < C; a++) {
        if (!row[a]) continue;
        n[a]! += 1;
        for (let b = 0; b < C; b++) if (b !== a && row[b]) co[a * C + b]! += 1;
      }
    }
    const together = (a: number, b: number) => DIGIT_SCENES.some((s) => s.includes(a) && s.includes(b));
    let inSum = 0;
    let inN = 0;
    let outSum = 0;
    let outN = 0;
    for (let a = 0; a < C; a++)
      for (let b = 0; b < C; b++) {
        if (a === b) continue;
        const p = co[a * C + b]! / n[a]!;
        if (together(a, b)) {
          inSum += p;
          inN++;
        } else {
          outSum += p;
          outN++;
        }
      }
    expect(inSum / inN).toBeGreaterThan(0.3);
    expect(outSum / outN).toBeLessThan(0.05);
    const perImage = ds.targets.reduce((s, v) => s + v, 0) / ds.length;
    expect(perImage).toBeGreaterThan(2);
    expect(perImage).toBeLessThan(3);
    const again = sceneDigits({ numImages: 2000, seed: 4 });
    expect(Array.from(again.targets)).toEqual(Array.from(ds.targets));
    const b = ds.batch([0, 5]);
    expect(b.images.shape).toEqual([2, 16, 16, 1]);
    expect(Array.from(b.targets.dataSync().slice(10, 20))).toEqual(Array.from(ds.targets.subarray(50, 60)));
    tf.dispose([b.images, b.targets]);
  });

  it('bad options are DistilleryErrors naming the key', () => {
    const cases: [unknown, string][] = [
      [{ numImage: 10 }, 'options.numImage'],
      [{ noise: 2 }, 'options.noise'],
      [
        {
          scenes: [
            [0, 1],
            [2, 2],
          ],
        },
        'options.scenes[1]',
      ],
      [{ scenes: [[0, 10]] }, 'options.scenes[0][1]'],
      [{ maxDigits: 4 }, 'options.maxDigits'],
      [{ scenes: [] }, 'options.scenes'],
    ];
    for (const [options, argument] of cases) {
      let err: unknown;
      try {
        sceneDigits(options as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DistilleryError);
      expect((err as DistilleryError).argument).toBe(argument);
    }
  });
});
