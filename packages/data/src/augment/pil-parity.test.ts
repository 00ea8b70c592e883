import { tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/pil-ops.json';
import { applyAffine, rotationMap } from './common';
import {
  autoContrastHost,
  brightnessHost,
  contrastHost,
  equalizeHost,
  mapHost,
  roundHalfEven,
  saturationHost,
  sharpnessHost,
} from './host-ops';

/** Runs a host op on the fixture image (as floats in [0, 1]) and returns 8-bit values. */
function run(c: (typeof fixture.cases)[number], op: (x: Float32Array, n: number, H: number, W: number) => void) {
  const [H, W] = c.shape as [number, number, number];
  const x = Float32Array.from(c.input, (v) => v / 255);
  op(x, H * W, H, W);
  return Array.from(x, (v) => Math.round(v * 255));
}

function expectNear(actual: number[], expected: number[], tol: number, label: string) {
  let worst = 0;
  actual.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - expected[i]!));
  });
  expect(worst, label).toBeLessThanOrEqual(tol);
}

describe('host colour ops match PIL (8-bit values)', () => {
  fixture.cases.forEach((c, k) => {
    it(`image ${k}`, () => {
      const o = c.outputs as Record<string, number[]>;
      // exact ops
      expectNear(
        run(c, (x, n) => equalizeHost(x, 0, n, 3)),
        o.equalize!,
        0,
        'equalize',
      );
      expectNear(
        run(c, (x, n) => autoContrastHost(x, 0, n, 3)),
        o.autocontrast!,
        1,
        'autocontrast',
      );
      expectNear(
        run(c, (x, n) => mapHost(x, 0, n, 3, (u) => (u >= 128 / 255 ? 1 - u : u))),
        o.solarize128!,
        0,
        'solarize',
      );
      expectNear(
        run(c, (x, n) => mapHost(x, 0, n, 3, (u) => (Math.floor(roundHalfEven(Math.fround(u * 255)) / 32) * 32) / 255)),
        o.posterize3!,
        0,
        'posterize',
      );
      expectNear(
        run(c, (x, n) => mapHost(x, 0, n, 3, (u) => 1 - u)),
        o.invert!,
        0,
        'invert',
      );
      // PIL blends in 8 bits with integer grey levels: within one or two levels
      expectNear(
        run(c, (x, n) => saturationHost(x, 0, n, 3, 1.7)),
        o['color1.7']!,
        2,
        'color',
      );
      expectNear(
        run(c, (x, n) => contrastHost(x, 0, n, 3, 0.4)),
        o['contrast0.4']!,
        2,
        'contrast',
      );
      expectNear(
        run(c, (x, n) => brightnessHost(x, 0, n, 3, 1.3)),
        o['brightness1.3']!,
        1,
        'brightness',
      );
      expectNear(
        run(c, (x, _n, H, W) => sharpnessHost(x, 0, H, W, 3, 1.8)),
        o['sharpness1.8']!,
        2,
        'sharpness',
      );
    });
  });

  it('integer translation and rotate(90) match PIL geometry (fill 128)', () => {
    for (const c of fixture.cases) {
      const [H, W] = c.shape as [number, number, number];
      const x = tf.tensor4d(
        Float32Array.from(c.input, (v) => v / 255),
        [1, H, W, 3],
      );
      const t = applyAffine(x, [[1, 0, 2, 0, 1, -1]], 'nearest', 128 / 255);
      expectNear(
        Array.from(t.dataSync(), (v) => Math.round(v * 255)),
        (c.outputs as Record<string, number[]>)['translate(2,-1)']!,
        0,
        'translate',
      );
      const rot = (c.outputs as Record<string, number[]>).rotate90;
      if (rot) {
        const r = applyAffine(x, [rotationMap(Math.PI / 2, H, W)], 'nearest', 0);
        expectNear(
          Array.from(r.dataSync(), (v) => Math.round(v * 255)),
          rot,
          0,
          'rotate90',
        );
        r.dispose();
      }
      tf.dispose([x, t]);
    }
  });
});
