import * as losses from '@distillery/losses';
import { classCorrelationLoss, classLogitLoss, clkdLoss, focalLoss, instanceLogitLoss } from '@distillery/losses';
import { tf } from '@distillery/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LossSpec, logitsOf, specs } from './specs';

const scalar = (t: tf.Tensor) => {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
};

/** Loss and gradient with respect to `x` of f. */
function valueAndGrad(f: (x: tf.Tensor2D) => tf.Scalar, x: tf.Tensor2D): [number, Float32Array] {
  const { value, grad } = tf.valueAndGrad(f)(x);
  const out: [number, Float32Array] = [value.dataSync()[0] as number, grad.dataSync() as Float32Array];
  tf.dispose([value, grad]);
  return out;
}

const allFinite = (values: ArrayLike<number>) => Array.from(values).every(Number.isFinite);

describe('focalLoss at p → 1 (issue 13)', () => {
  it('has finite gradients for γ in (0, 1) when a sample is right by a margin of 20', () => {
    const z = tf.tensor2d([
      [20, 0, 0],
      [0, 1, 0],
    ]);
    const y = tf.tensor1d([0, 1], 'int32');
    for (const gamma of [0.5, 0.25, 0.9, 1, 2]) {
      const [value, grad] = valueAndGrad((x) => focalLoss(x, y, { gamma }), z);
      expect(Number.isFinite(value), `γ = ${gamma}: loss`).toBe(true);
      expect(allFinite(grad), `γ = ${gamma}: gradient ${Array.from(grad)}`).toBe(true);
      // the confident row contributes (almost) nothing; the other row's gradient equals that of focal on it alone
      const [, alone] = valueAndGrad(
        (x) => tf.mul(focalLoss(x, tf.tensor1d([1], 'int32'), { gamma }), 0.5) as tf.Scalar,
        tf.tensor2d([[0, 1, 0]]),
      );
      for (let j = 0; j < 3; j++) expect(grad[3 + j]).toBeCloseTo(alone[j] as number, 6);
      for (let j = 0; j < 3; j++) expect(Math.abs(grad[j] as number)).toBeLessThan(1e-3);
    }
    tf.dispose([z, y]);
  });

  it('keeps the value and gradient of (1 − p)^γ·CE away from p → 1 (finite differences)', () => {
    const z = tf.tensor2d([
      [2, 0.5, -1],
      [0.3, 0.1, 0.2],
    ]);
    const y = tf.tensor1d([0, 2], 'int32');
    const gamma = 0.5;
    const f = (x: tf.Tensor2D) => focalLoss(x, y, { gamma });
    const [, grad] = valueAndGrad(f, z);
    const base = z.arraySync();
    const h = 1e-2;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const plus = base.map((r) => r.slice());
        const minus = base.map((r) => r.slice());
        (plus[i] as number[])[j]! += h;
        (minus[i] as number[])[j]! -= h;
        const fd = (scalar(f(tf.tensor2d(plus))) - scalar(f(tf.tensor2d(minus)))) / (2 * h);
        expect(grad[i * 3 + j]).toBeCloseTo(fd, 3);
      }
    }
    tf.dispose([z, y]);
  });
});

describe('CLKD at extreme logit magnitudes (issue 13)', () => {
  let s: tf.Tensor2D;
  let t: tf.Tensor2D;
  beforeAll(() => {
    s = logitsOf(6, 5);
    t = logitsOf(6, 5, 3);
  });
  const scaled = (x: tf.Tensor2D, k: number) => tf.mul(x, k) as tf.Tensor2D;

  it('the instance and class terms are scale-invariant up to |z| ~ 1e30 (F.normalize), not 0 or NaN', () => {
    for (const k of [1e20, 1e30]) {
      for (const fn of [instanceLogitLoss, classLogitLoss]) {
        const ref = scalar(fn(s, t));
        const [value, grad] = valueAndGrad((x) => fn(x, scaled(t, k)), scaled(s, k));
        expect(value, `${fn.name} at ${k}`).toBeCloseTo(ref, 6);
        expect(allFinite(grad)).toBe(true);
      }
    }
  });

  it('the correlation term is exact where float32 holds it: m²·L(z/m), and 0 for equal inputs at 1e30', () => {
    for (const correlation of ['class', 'sample'] as const) {
      const ref = scalar(classCorrelationLoss(s, t, { correlation, squaredNorm: false }));
      const k = 1e15; // B ~ 1e30: Σ(B_s − B_t)² overflowed float32 before
      const big = scalar(classCorrelationLoss(scaled(s, k), scaled(t, k), { correlation, squaredNorm: false }));
      expect(big / (k * k), correlation).toBeCloseTo(ref, 4);
      const [same, grad] = valueAndGrad((x) => clkdLoss(x, scaled(s, 1e30), { correlation }), scaled(s, 1e30));
      expect(same, `${correlation}: equal inputs at 1e30`).toBe(0);
      expect(allFinite(grad)).toBe(true);
    }
  });

  it('is never NaN at |z| ~ 1e30: +Infinity where the true correlation term exceeds float32, finite gradients', () => {
    const [value, grad] = valueAndGrad((x) => clkdLoss(x, scaled(t, 1e30)), scaled(s, 1e30));
    expect(value).toBe(Number.POSITIVE_INFINITY); // ~1e60 / C²: beyond float32
    expect(allFinite(grad)).toBe(true); // the plain Frobenius norm's gradient is ~m, representable
  });
});

describe('every loss at |logits| ~ 1e30 (issue 13)', () => {
  const skip = new Set(['clkdLoss', 'classCorrelationLoss']); // covered above: their true value overflows float32
  const forward = (spec: LossSpec, args: unknown[]) => {
    const xs = spec.differentiable.map((i) => args[i] as tf.Tensor);
    const f = (...diff: tf.Tensor[]) => {
      const full = args.slice();
      spec.differentiable.forEach((i, k) => {
        full[i] = diff[k];
      });
      return spec.call(full);
    };
    const { value, grads } = tf.valueAndGrads(f)(xs);
    return [value, ...grads];
  };
  for (const spec of specs.filter((s) => !skip.has(s.name))) {
    it(`${spec.name}: finite loss and gradients`, () => {
      const args = spec.make(6, 5, 1e30);
      const outs = forward(spec, args);
      for (const o of outs) expect(allFinite(o.dataSync()), `${spec.name}`).toBe(true);
      tf.dispose([...outs, ...args.filter((a): a is tf.Tensor => a instanceof tf.Tensor)]);
    });
  }
  it('mdcsLoss: finite loss and gradients', () => {
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const experts = [0, 1, 2].map(() => tf.mul(logitsOf(6, 4), 1e30) as tf.Tensor2D);
    const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) =>
      losses.mdcsLoss(xs as tf.Tensor2D[], labels, [50, 20, 5, 2], { epoch: 30 }),
    )(experts);
    for (const o of [value, ...grads]) expect(allFinite(o.dataSync())).toBe(true);
    tf.dispose([value, ...grads, ...experts, labels]);
  });

  it('the list covers every exported loss', () => {
    const names = new Set(specs.map((s) => s.name));
    for (const [name, value] of Object.entries(losses)) {
      if (
        typeof value === 'function' &&
        name.endsWith('Loss') &&
        !['trgLoss', 'contextualLoss', 'mdcsLoss'].includes(name)
      ) {
        expect(names.has(name), name).toBe(true);
      }
    }
  });
});
