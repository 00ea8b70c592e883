import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { crossEntropy, expectClose, fixtureBytes, fixtureJson } from '../../test/helpers';
import { diagonalityPreservingLoss, LaViT } from './lavit';

interface Fixture {
  input: { shape: number[]; values: number[] };
  labels: number[];
  logits: number[];
  laMap0Head0: number[];
  laMapLast: number[];
  numLaMaps: number;
  dpLoss: number;
  loss: number;
  inputGrad: { values: number[] };
  paramGrads: Record<string, { shape: number[]; values: number[] }>;
}

const f = fixtureJson<Fixture>('lavit_tiny.json');
const tiny = {
  imageSize: 16,
  patchSize: 2,
  numClasses: 4,
  dims: [8, 16],
  heads: [2, 2],
  vaDepths: [1, 1],
  laDepths: [2, 1],
};

const toTorch = (g: tf.Tensor, name: string): Float32Array =>
  tf
    .tidy(() => {
      if (name.endsWith('attn_downsample.weight')) return tf.transpose(g, [2, 3, 0, 1]);
      if (g.rank === 2) return tf.transpose(g, [1, 0]);
      return g;
    })
    .dataSync() as Float32Array;

describe('LaViT parity with the PyTorch reference (choices documented in lavit.ts)', () => {
  it('logits, LA maps, DP loss and gradients (CE + 0.01·DP) match', () => {
    const model = new LaViT(tiny);
    model.loadSafetensorsBuffer(fixtureBytes('lavit_tiny.safetensors'));
    const x = tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);
    const out = model.forward(x);
    expectClose(out.logits.dataSync(), f.logits, 1e-4, 'logits');
    expect(out.laMaps).toHaveLength(f.numLaMaps);
    const head0 = tf.tidy(() => tf.slice(out.laMaps[0]!, [0, 0, 0, 0], [1, 1, 64, 64]).dataSync());
    expectClose(head0, f.laMap0Head0, 1e-4, 'LA map 0');
    expectClose(out.laMaps[out.laMaps.length - 1]!.dataSync(), f.laMapLast, 1e-4, 'last LA map');
    const dp = diagonalityPreservingLoss(out.laMaps);
    expect(dp.dataSync()[0]).toBeCloseTo(f.dpLoss, 3);
    const lossOf = () => {
      const o = model.forward(x);
      return tf.add(crossEntropy(o.logits, f.labels), tf.mul(diagonalityPreservingLoss(o.laMaps), 0.01)) as tf.Scalar;
    };
    const gx = tf.grad((inp: tf.Tensor) => {
      const o = model.forward(inp as tf.Tensor4D);
      return tf.add(crossEntropy(o.logits, f.labels), tf.mul(diagonalityPreservingLoss(o.laMaps), 0.01)) as tf.Scalar;
    })(x);
    expectClose(gx.dataSync(), f.inputGrad.values, 1e-3, 'input grad');
    const names = Object.keys(f.paramGrads);
    const { value, grads } = tf.variableGrads(
      lossOf,
      names.map((n) => model.params.get(n)),
    );
    expect(value.dataSync()[0]).toBeCloseTo(f.loss, 4);
    for (const n of names) {
      expectClose(toTorch(grads[model.params.get(n).name]!, n), f.paramGrads[n]!.values, 1e-3, `grad ${n}`);
    }
    tf.dispose([x, dp, gx, value, out as unknown as tf.TensorContainer, grads as unknown as tf.TensorContainer]);
    model.dispose();
  });
});

describe('LaViT', () => {
  it('DP loss: zero for the identity, symmetry and diagonal terms by hand, sign option', () => {
    const eye = tf.reshape(tf.eye(3), [1, 1, 3, 3]);
    // identity: symmetric, diagonal term Σ_i (2·1 − 0) = 6.
    expect(diagonalityPreservingLoss(eye).dataSync()[0]).toBeCloseTo(6, 6);
    expect(diagonalityPreservingLoss(eye, { diagonalSign: -1 }).dataSync()[0]).toBeCloseTo(-6, 6);
    const a = tf.tensor4d([0, 1, 0, 0], [1, 1, 2, 2]); // |1−0| + |0−1| = 2; diag term (0 − 1) + (0 − 0) = −1
    expect(diagonalityPreservingLoss(a).dataSync()[0]).toBeCloseTo(1, 6);
    expect(() => diagonalityPreservingLoss(tf.zeros([1, 1, 2, 3]))).toThrowError(/maps\[0\]/);
    tf.dispose([eye, a]);
  });

  it('a training step (CE + DP) lowers the loss on a fixed batch without tensor growth', async () => {
    const model = new LaViT({ ...tiny, numClasses: 3, seed: 2 });
    const x = tf.randomNormal([3, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const labels = [0, 1, 2];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(
        () => {
          const o = model.forward(x, { training: true });
          return tf.add(
            crossEntropy(o.logits, labels),
            tf.mul(diagonalityPreservingLoss(o.laMaps, { diagonalSign: -1 }), 1e-3),
          ) as tf.Scalar;
        },
        true,
        vars,
      )!;
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const l = step();
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[5]!).toBeLessThan(losses[0]! - 0.3);
    await assertNoTensorLeak(step, 1, 'LaViT training step');
    x.dispose();
    optimizer.dispose();
    model.dispose();
  });

  it('laSoftmax: false uses A^l·V directly (a different, finite output)', () => {
    const a = new LaViT(tiny);
    const b = new LaViT({ ...tiny, laSoftmax: false });
    a.loadSafetensorsBuffer(fixtureBytes('lavit_tiny.safetensors'));
    b.loadSafetensorsBuffer(fixtureBytes('lavit_tiny.safetensors'));
    const x = tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);
    const oa = a.forward(x);
    const ob = b.forward(x);
    const ya = oa.logits.dataSync();
    const yb = ob.logits.dataSync();
    expectClose(ya, f.logits, 1e-4, 'softmax variant is the reference');
    expect(Array.from(yb).every(Number.isFinite)).toBe(true);
    expect(Math.max(...Array.from(ya).map((v, i) => Math.abs(v - yb[i]!)))).toBeGreaterThan(1e-2);
    tf.dispose([x, oa as unknown as tf.TensorContainer, ob as unknown as tf.TensorContainer]);
    a.dispose();
    b.dispose();
  });

  it('rejects token counts that do not fit a stage, by name', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as DistilleryError;
      }
      throw new Error('expected a throw');
    };
    // 6×6 tokens cannot be halved twice.
    expect(
      err(
        () =>
          new LaViT({
            ...tiny,
            imageSize: 12,
            dims: [8, 8, 8],
            heads: [2, 2, 2],
            vaDepths: [1, 1, 1],
            laDepths: [1, 1, 1],
          }),
      ).argument,
    ).toBe('config.imageSize');
    expect(err(() => new LaViT({ ...tiny, patchSize: 3 })).argument).toBe('config.patchSize');
    expect(err(() => new LaViT({ ...tiny, vaDepths: [0, 1] })).argument).toBe('config.vaDepths[0]');
    expect(err(() => new LaViT({ ...tiny, heads: [2, 4] })).argument).toBe('config.heads[1]');
    const model = new LaViT(tiny);
    const wrong = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    const e = err(() => model.forward(wrong));
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.argument).toBe('images');
    expect(e.message).toMatch(/N = 64 tokens/);
    expect(e.message).toMatch(/256 tokens/);
    wrong.dispose();
    model.dispose();
  });
});
