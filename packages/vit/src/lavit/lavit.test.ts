import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { crossEntropy, fixtureBytes, fixtureJson } from '../../test/helpers';
import { diagonalityPreservingLoss, LaViT } from './lavit';

interface Fixture {
  config: { heads: number[] };
  input: { shape: number[]; values: number[] };
  labels: number[];
  logits: number[];
  laMap0Head0: number[];
  laMapLast: number[];
  numLaMaps: number;
  firstVaNextStage: number[];
  dpLoss: number;
  /** The DP loss's sum over |terms|: float32 rounding of the (cancelling) sum is relative to it. */
  dpScale: number;
  loss: number;
  inputGrad: { values: number[] };
  paramGrads: Record<string, { shape: number[]; values: number[] }>;
  logitsNoSoftmax: number[];
  laMapLastNoSoftmax: number[];
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

/** A gradient in PyTorch's layout (Linear [out, in]; depth-wise conv [C, 1, k, k]; conv [out, in, k, k]). */
const toTorch = (g: tf.Tensor, name: string): Float32Array =>
  tf
    .tidy(() => {
      if (name.endsWith('attn_downsample.weight'))
        return tf.transpose(g, g.shape[3] === 1 ? [2, 3, 0, 1] : [3, 2, 0, 1]);
      if (g.rank === 2) return tf.transpose(g, [1, 0]);
      return g;
    })
    .dataSync() as Float32Array;

const lossWith = (model: LaViT, x: tf.Tensor4D, labels: number[]) => {
  const o = model.forward(x);
  return tf.add(crossEntropy(o.logits, labels), tf.mul(diagonalityPreservingLoss(o.laMaps), 0.01)) as tf.Scalar;
};

describe('LaViT parity with the self-consistency reference (tools/reference/vit/lavit_reference.py)', () => {
  for (const [file, heads] of [
    ['lavit_tiny', [2, 2]],
    ['lavit_heads', [1, 2]],
  ] as const) {
    it(`${file} (heads [${heads}]): logits, LA maps, residual downsampling, DP loss and gradients (CE + 0.01·DP)`, () => {
      const fx = fixtureJson<Fixture>(`${file}.json`);
      expect(fx.config.heads).toEqual(heads);
      const model = new LaViT({ ...tiny, heads: [...heads] });
      model.loadSafetensorsBuffer(fixtureBytes(`${file}.safetensors`));
      const x = tf.tensor4d(fx.input.values, fx.input.shape as [number, number, number, number]);
      const out = model.forward(x, { returnAttention: true });
      expectScaledClose(out.logits.dataSync(), fx.logits, 1e-5, 'logits');
      expect(out.laMaps).toHaveLength(fx.numLaMaps);
      const head0 = tf.tidy(() => tf.slice(out.laMaps[0]!, [0, 0, 0, 0], [1, 1, 64, 64]).dataSync());
      expectScaledClose(head0, fx.laMap0Head0, 1e-5, 'LA map 0');
      expectScaledClose(out.laMaps[out.laMaps.length - 1]!.dataSync(), fx.laMapLast, 1e-5, 'last LA map');
      // Stage 1's first VA map carries the residual downsampled from stage 0's last map. Each entry is a softmax
      // value plus pooled map entries of the map's own size, so it is compared at 1e-5 of the map's largest entry.
      const first = out.attentions![3]!.dataSync();
      const top = Math.max(...fx.firstVaNextStage.map(Math.abs));
      const worst = Math.max(...fx.firstVaNextStage.map((e, i) => Math.abs(first[i]! - e)));
      expect(worst / top, 'stage 1 first map').toBeLessThanOrEqual(1e-5);
      // The DP loss is a sum of terms that largely cancel: compared at 1e-5 of the sum of their sizes.
      const dp = diagonalityPreservingLoss(out.laMaps);
      expect(Math.abs(dp.dataSync()[0]! - fx.dpLoss) / fx.dpScale, 'DP loss').toBeLessThanOrEqual(1e-5);
      const gx = tf.grad((inp: tf.Tensor) => lossWith(model, inp as tf.Tensor4D, fx.labels))(x);
      expectScaledClose(gx.dataSync(), fx.inputGrad.values, 1e-4, 'input grad');
      const names = Object.keys(fx.paramGrads);
      const { value, grads } = tf.variableGrads(
        () => lossWith(model, x, fx.labels),
        names.map((n) => model.params.get(n)),
      );
      expectScaledClose(value.dataSync(), [fx.loss], 1e-5, 'loss');
      for (const n of names) {
        expectScaledClose(toTorch(grads[model.params.get(n).name]!, n), fx.paramGrads[n]!.values, 1e-4, `grad ${n}`);
      }
      tf.dispose([x, dp, gx, value, out as unknown as tf.TensorContainer, grads as unknown as tf.TensorContainer]);
      model.dispose();
    });
  }

  it('laSoftmax: false attends with A^l itself, returns it in laMaps and passes it on (reference)', () => {
    const model = new LaViT({ ...tiny, laSoftmax: false });
    model.loadSafetensorsBuffer(fixtureBytes('lavit_tiny.safetensors'));
    const x = tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);
    const out = model.forward(x);
    expectScaledClose(out.logits.dataSync(), f.logitsNoSoftmax, 1e-5, 'logits without softmax');
    expectScaledClose(out.laMaps[out.laMaps.length - 1]!.dataSync(), f.laMapLastNoSoftmax, 1e-5, 'last LA map A^l');
    tf.dispose([x, out as unknown as tf.TensorContainer]);
    model.dispose();
  });
});

describe('LaViT', () => {
  it('DP loss: symmetry and dominance terms by hand, both signs', () => {
    const eye = tf.reshape(tf.eye(3), [1, 1, 3, 3]);
    // identity: symmetric (0), dominance Σ_i (2·1 − 0) = 6, subtracted by default.
    expect(diagonalityPreservingLoss(eye).dataSync()[0]).toBeCloseTo(-6, 6);
    expect(diagonalityPreservingLoss(eye, { diagonalSign: 1 }).dataSync()[0]).toBeCloseTo(6, 6);
    const a = tf.tensor4d([0, 1, 0, 0], [1, 1, 2, 2]); // |1−0| + |0−1| = 2; dominance (0 − 1) + (0 − 0) = −1
    expect(diagonalityPreservingLoss(a).dataSync()[0]).toBeCloseTo(3, 6);
    expect(diagonalityPreservingLoss(a, { diagonalSign: 1 }).dataSync()[0]).toBeCloseTo(1, 6);
    expect(() => diagonalityPreservingLoss(tf.zeros([1, 1, 2, 3]))).toThrowError(/maps\[0\]/);
    tf.dispose([eye, a]);
  });

  it('DP loss preserves diagonality: a more diagonal row-stochastic map has a lower loss (default)', () => {
    const n = 16;
    const losses = [0, 0.25, 0.5, 0.75, 1].map((t) =>
      tf.tidy(() => {
        // (1 − t)·uniform + t·I, symmetric, row-stochastic; two heads, batch of two.
        const m = tf.add(tf.mul(tf.fill([n, n], 1 / n), 1 - t), tf.mul(tf.eye(n), t));
        const maps = tf.tile(tf.reshape(m, [1, 1, n, n]), [2, 2, 1, 1]);
        return diagonalityPreservingLoss(maps).dataSync()[0]!;
      }),
    );
    for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]! - 1);
    // and a map whose mass sits off the diagonal is worse than the uniform one
    const off = tf.tidy(() => {
      const shift = tf.tensor2d(
        Array.from({ length: n * n }, (_, k) => (k % n === (Math.floor(k / n) + 1) % n ? 1 : 0)),
        [n, n],
      );
      return diagonalityPreservingLoss(tf.reshape(shift, [1, 1, n, n])).dataSync()[0]!;
    });
    expect(off).toBeGreaterThan(losses[0]!);
  });

  it('a training step (CE + DP) lowers the loss on a fixed batch without tensor growth', async () => {
    // 8×8 images: 16 → 4 tokens, two stages (the patch merging and the residual downsampling are trained too).
    const model = new LaViT({ ...tiny, imageSize: 8, numClasses: 3, seed: 2 });
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const labels = [0, 1, 2];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(
        () => {
          const o = model.forward(x, { training: true });
          return tf.add(crossEntropy(o.logits, labels), tf.mul(diagonalityPreservingLoss(o.laMaps), 1e-3)) as tf.Scalar;
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
  }, 120_000);

  it('laSoftmax: false returns the map it attends with (A^l, not row-stochastic) in laMaps and attentions', () => {
    const model = new LaViT({ ...tiny, laSoftmax: false });
    model.loadSafetensorsBuffer(fixtureBytes('lavit_tiny.safetensors'));
    const x = tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);
    const out = model.forward(x, { returnAttention: true });
    // attentions: stage 0 = VA, LA, LA; stage 1 = VA, LA. laMaps are the LA entries, the very same maps.
    expect(out.laMaps).toHaveLength(3);
    for (const [k, i] of [1, 2, 4].entries()) expect(out.laMaps[k]).toBe(out.attentions![i]);
    const rowSums = tf.tidy(() => tf.sum(out.laMaps[0]!, -1).dataSync());
    expect(Math.max(...Array.from(rowSums, (v) => Math.abs(v - 1)))).toBeGreaterThan(1e-2);
    tf.dispose([x, out as unknown as tf.TensorContainer]);
    model.dispose();
  });

  it('heads may differ per stage; a wrong-length array is named with its length, not its contents', () => {
    const model = new LaViT({ ...tiny, dims: [8, 16, 32], heads: [1, 2, 4], vaDepths: [1, 1, 1], laDepths: [1, 1, 1] });
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const out = model.forward(x, { returnAttention: true });
    expect(out.attentions!.map((a) => a.shape)).toEqual([
      [2, 1, 64, 64],
      [2, 1, 64, 64],
      [2, 2, 16, 16],
      [2, 2, 16, 16],
      [2, 4, 4, 4],
      [2, 4, 4, 4],
    ]);
    expect(Array.from(out.logits.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, out as unknown as tf.TensorContainer]);
    model.dispose();
    let e: DistilleryError | undefined;
    try {
      new LaViT({ ...tiny, heads: [2] });
    } catch (err) {
      e = err as DistilleryError;
    }
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e!.argument).toBe('config.heads');
    expect(e!.message).toMatch(/expected an array of 2 entries .*got an array of 1 entry \(\[2\]\)/);
    expect(e!.message).not.toMatch(/got 2/);
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
    expect(err(() => new LaViT({ ...tiny, heads: [2, 3] })).argument).toBe('config.heads[1]');
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
