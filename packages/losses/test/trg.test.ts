import { contextualLoss, trgLoss, trgTemperature } from '@distillery/losses';
import { assertNoTensorLeak, createRng, DistilleryError, randomNormal, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

function expectError(fn: () => unknown, argument: string, code?: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).argument).toBe(argument);
    if (code) expect((e as DistilleryError).code).toBe(code);
    return;
  }
  throw new Error(`expected a DistilleryError naming ${argument}`);
}

const tokens = (n: number, l: number, d: number, seed: number, scale = 1) =>
  tf.tidy(() => tf.mul(randomNormal([n, l, d], createRng(seed)), scale)) as tf.Tensor3D;

describe('trgLoss', () => {
  it('is zero in every part except the InfoNCE floor when the student equals the teacher', () => {
    const t = tokens(2, 6, 4, 1);
    const parts = trgLoss(t, t, { sampleTokens: 6 });
    expect(Math.abs(parts.local.dataSync()[0]!)).toBeLessThan(1e-6);
    expect(Math.abs(parts.contextual.dataSync()[0]!)).toBeLessThan(1e-9);
    // InfoNCE with identical tokens is still positive (other tokens are negatives) but below log(N·M)
    const g = parts.global.dataSync()[0]!;
    expect(g).toBeGreaterThan(0);
    expect(g).toBeLessThan(Math.log(12));
    tf.dispose(Object.values(parts));
  });

  it('samples with the rng (reproducibly) and requires one when M < L', () => {
    const s = tokens(2, 10, 4, 2);
    const t = tokens(2, 10, 4, 3);
    const a = trgLoss(s, t, { sampleTokens: 4, rng: createRng(7) });
    const b = trgLoss(s, t, { sampleTokens: 4, rng: createRng(7) });
    expect(a.total.dataSync()[0]).toBe(b.total.dataSync()[0]);
    tf.dispose([...Object.values(a), ...Object.values(b)]);
    expectError(() => trgLoss(s, t, { sampleTokens: 4 }), 'options.rng', 'INVALID_ARGUMENT');
  });

  it('rejects bad tokens, indices and options, naming them', () => {
    const s = tokens(2, 5, 3, 4);
    const t = tokens(2, 5, 3, 5);
    expectError(() => trgLoss(s, tokens(2, 5, 4, 6)), 'teacherTokens', 'SHAPE_MISMATCH');
    expectError(
      () => trgLoss(tf.zeros([0, 5, 3]) as tf.Tensor3D, tf.zeros([0, 5, 3]) as tf.Tensor3D),
      'studentTokens',
      'EMPTY_INPUT',
    );
    expectError(() => trgLoss(tf.zeros([2, 5]) as unknown as tf.Tensor3D, t), 'studentTokens', 'INVALID_RANK');
    expectError(() => trgLoss(s, t, { tokenIndices: [[0, 1]] }), 'options.tokenIndices', 'SHAPE_MISMATCH');
    expectError(
      () =>
        trgLoss(s, t, {
          tokenIndices: [
            [0, 1],
            [0, 5],
          ],
        }),
      'options.tokenIndices[1]',
      'OUT_OF_RANGE',
    );
    expectError(() => trgLoss(s, t, { k: 0 }), 'options.k', 'OUT_OF_RANGE');
    expectError(() => trgLoss(s, t, { sigma: -1 }), 'options.sigma', 'OUT_OF_RANGE');
    expectError(() => trgLoss(s, t, { temperature: 0 }), 'options.temperature', 'OUT_OF_RANGE');
    const nan = tf.tensor3d([[[Number.NaN, 0, 0]]]);
    expectError(() => trgLoss(nan, nan, { checkFinite: true }), 'studentTokens', 'NON_FINITE');
    expectError(() => trgLoss(tokens(1, 1, 3, 8), tokens(1, 1, 3, 9)), 'studentTokens', 'OUT_OF_RANGE');
  });

  it('gives finite parts and gradients at ±1e4 features, with the teacher detached', () => {
    const s = tokens(2, 8, 4, 10, 1e4);
    const t = tokens(2, 8, 4, 11, 1e4);
    const { value, grads } = tf.valueAndGrads(
      (x: tf.Tensor) => trgLoss(x as tf.Tensor3D, t, { sampleTokens: 8 }).total,
    )([s]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(Array.from(grads[0]!.dataSync()).every(Number.isFinite)).toBe(true);
    const tv = tf.variable(t);
    expect(() => tf.variableGrads(() => trgLoss(s, tv, { sampleTokens: 8 }).total, [tv])).toThrow(/connection/);
  });

  it('leaks nothing over 100 forward + backward passes', async () => {
    const s = tokens(2, 10, 4, 12);
    const t = tokens(2, 10, 4, 13);
    const rng = createRng(3);
    await assertNoTensorLeak(
      () => tf.valueAndGrads((x: tf.Tensor) => trgLoss(x as tf.Tensor3D, t, { sampleTokens: 5, rng }).total)([s]),
      100,
      'trgLoss',
    );
    await assertNoTensorLeak(
      () => tf.valueAndGrads((x: tf.Tensor) => contextualLoss(x as tf.Tensor3D, t))([s]),
      100,
      'contextualLoss',
    );
  });
});

describe('trgTemperature', () => {
  it('decays from start to end along a cosine and stays at end afterwards', () => {
    expect(trgTemperature(0, 100)).toBeCloseTo(1, 12);
    expect(trgTemperature(50, 100)).toBeCloseTo(0.55, 12);
    expect(trgTemperature(100, 100)).toBeCloseTo(0.1, 12);
    expect(trgTemperature(200, 100, { start: 2, end: 0.5 })).toBeCloseTo(0.5, 12);
    expectError(() => trgTemperature(1, 0), 'epochs', 'OUT_OF_RANGE');
  });
});
