import { assertNoTensorLeak, createRng, DistilleryError, parseSafetensors, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { crossEntropy, fixtureBytes, fixtureJson } from '../../test/helpers';
import { applyMetaDropout, metaMaskProbability } from './meta-dropout';
import { MetaFormer } from './metaformer';
import { encodeSpatial, encodeSpatioTemporal } from './spatio-temporal';

interface Fixture {
  input: { shape: number[]; values: number[] };
  meta: { shape: number[]; values: number[] };
  encodings: {
    input: { month: number | null; hour: number | null; latitude: number; longitude: number };
    meta: number[];
  }[];
  labels: number[];
  evalLogits: number[];
  trainLogits: number[];
  loss: number;
  inputGrad: { values: number[] };
  metaGrad: number[];
  paramGrads: Record<string, { shape: number[]; values: number[] }>;
}

const f = fixtureJson<Fixture>('metaformer_tiny.json');
const tinyConfig = {
  imageSize: 32,
  numClasses: 5,
  convEmbedDims: [8, 8, 16] as [number, number, number],
  attnEmbedDims: [16, 32] as [number, number],
  convDepths: [1, 1, 1] as [number, number, number],
  attnDepths: [1, 2] as [number, number],
  numHeads: 2,
  metaDims: [4, 3],
};

const toTorch = (g: tf.Tensor, name: string): Float32Array =>
  tf
    .tidy(() => {
      if (name.includes('_depthwise_conv')) return tf.transpose(g, [2, 3, 0, 1]);
      if (g.rank === 2 && name.endsWith('.weight')) return tf.transpose(g, [1, 0]);
      return g;
    })
    .dataSync() as Float32Array;

describe('MetaFormer (MetaFG_Meta) parity with the PyTorch reference', () => {
  it('spatio-temporal encoding matches dataset_fg.py, including the zero-coordinate quirk', () => {
    for (const e of f.encodings)
      expectScaledClose(encodeSpatioTemporal(e.input), e.meta, 1e-6, JSON.stringify(e.input));
    expect(encodeSpatial(0, 30)).toEqual([0, 0, 0]);
    expect(encodeSpatial(0, 30, { zeroCoordinateIsMissing: false })[0]).toBeCloseTo(Math.cos(Math.PI / 6), 6);
    expect(() => encodeSpatioTemporal({ month: 13 })).toThrow(/month/);
  });

  it('eval/train forwards and gradients w.r.t. images, meta and parameters match', () => {
    const model = new MetaFormer(tinyConfig);
    const report = model.loadSafetensorsBuffer(fixtureBytes('metaformer_tiny.safetensors'));
    expect(report.loaded).toContain('stage_3.0.attn.relative_position_index');
    const x = tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);
    const meta = tf.tensor2d(f.meta.values, f.meta.shape as [number, number]);
    const ev = model.forward(x, meta);
    expectScaledClose(ev.logits.dataSync(), f.evalLogits, 1e-4, 'eval logits');
    const tr = model.forward(x, meta, { training: true });
    expectScaledClose(tr.logits.dataSync(), f.trainLogits, 1e-4, 'train logits');
    const lossOf = (img: tf.Tensor, m: tf.Tensor) =>
      crossEntropy(model.forward(img as tf.Tensor4D, m, { training: true }).logits, f.labels);
    const [gx, gm] = tf.grads(lossOf)([x, meta]);
    expectScaledClose(gx!.dataSync(), f.inputGrad.values, 1e-3, 'image grad');
    expectScaledClose(gm!.dataSync(), f.metaGrad, 1e-3, 'meta grad');
    const names = Object.keys(f.paramGrads);
    const { value, grads } = tf.variableGrads(
      () => lossOf(x, meta),
      names.map((n) => model.params.get(n)),
    );
    expect(value.dataSync()[0]).toBeCloseTo(f.loss, 4);
    for (const n of names) {
      expectScaledClose(toTorch(grads[model.params.get(n).name]!, n), f.paramGrads[n]!.values, 1e-3, `grad ${n}`);
    }
    tf.dispose([x, meta, gx!, gm!, value, ev as unknown as tf.TensorContainer, tr as unknown as tf.TensorContainer]);
    tf.dispose(grads as unknown as tf.TensorContainer);
    model.dispose();
  });

  it('exports every reference tensor back (int64 relative_position_index and BN counters included)', () => {
    const model = new MetaFormer(tinyConfig);
    const bytes = fixtureBytes('metaformer_tiny.safetensors');
    model.loadSafetensorsBuffer(bytes);
    const original = parseSafetensors(bytes).tensors;
    const exported = parseSafetensors(model.toSafetensors()).tensors;
    expect([...exported.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [n, e] of original) {
      expect(exported.get(n)!.dtype, n).toBe(e.dtype);
      if (!n.endsWith('num_batches_tracked')) {
        expect(Buffer.from(exported.get(n)!.bytes).equals(Buffer.from(e.bytes)), n).toBe(true);
      }
    }
    model.dispose();
  });
});

describe('meta dropout', () => {
  it('follows p = mask_prob − epoch/total and zeroes int(B·p) whole rows', () => {
    expect(metaMaskProbability(0, 100)).toBe(1);
    expect(metaMaskProbability(25, 100)).toBe(0.75);
    expect(metaMaskProbability(25, 100, { maskType: 'constant', maskProb: 0.5 })).toBe(0.5);
    const meta = tf.ones([8, 7]);
    const out = applyMetaDropout(meta, 0.75, createRng(1));
    const rows = tf.tidy(() => tf.sum(out, 1).dataSync());
    expect(Array.from(rows).filter((r) => r === 0)).toHaveLength(6);
    expect(Array.from(rows).filter((r) => r === 7)).toHaveLength(2);
    const none = applyMetaDropout(meta, 0, createRng(1));
    expect(tf.tidy(() => tf.sum(none).dataSync()[0])).toBe(56);
    tf.dispose([meta, out, none]);
  });

  it('is applied in training when the epoch is given, never at evaluation', () => {
    const model = new MetaFormer({ ...tinyConfig, attnDepths: [1, 1], seed: 3 });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const meta = tf.randomNormal([2, 7], 0, 1, 'float32', 5);
    const zeros = tf.zeros([2, 7]);
    // At epoch 0 of a linear schedule every sample's meta is dropped: the logits equal those with zero meta.
    const masked = model.forward(x, meta, { training: true, epoch: 0, totalEpochs: 10 });
    const zeroMeta = model.forward(x, zeros, { training: true });
    expectScaledClose(masked.logits.dataSync(), Array.from(zeroMeta.logits.dataSync()), 1e-5, 'all masked');
    const kept = model.forward(x, meta, { training: true });
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(kept.logits, zeroMeta.logits))).dataSync()[0]!);
    expect(diff).toBeGreaterThan(1e-4);
    tf.dispose([x, meta, zeros]);
    tf.dispose([masked, zeroMeta, kept] as unknown as tf.TensorContainer);
    model.dispose();
  });
});

describe('MetaFormer training and errors', () => {
  it('a training step lowers the loss on a fixed batch without tensor growth', async () => {
    const model = new MetaFormer({ ...tinyConfig, attnDepths: [1, 1], numClasses: 3, seed: 1 });
    const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const meta = tf.tensor2d([
      encodeSpatioTemporal({ month: 1, hour: 3, latitude: 10, longitude: 20 }),
      encodeSpatioTemporal({ month: 6, latitude: -40, longitude: 100 }),
      encodeSpatioTemporal({}),
    ]);
    const labels = [0, 1, 2];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    let epoch = 0;
    const step = () =>
      optimizer.minimize(
        () => crossEntropy(model.forward(x, meta, { training: true, epoch: epoch++, totalEpochs: 8 }).logits, labels),
        true,
        vars,
      )!;
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const l = step();
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.8);
    epoch = 0;
    await assertNoTensorLeak(step, 1, 'MetaFormer training step');
    tf.dispose([x, meta]);
    optimizer.dispose();
    model.dispose();
  }, 240_000);

  it('supports per-row meta tokens (one group, [B, T, d]) and the only-last-cls head', () => {
    const model = new MetaFormer({
      ...tinyConfig,
      attnDepths: [1, 1],
      metaDims: [8],
      extraTokenNum: 5,
      onlyLastCls: true,
    });
    expect(model.params.names().some((n) => n.startsWith('aggregate'))).toBe(false);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const meta = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 8);
    const out = model.forward(x, meta);
    expect(out.logits.shape).toEqual([2, 5]);
    expect(out.cls1).toBeUndefined();
    // With onlyLastCls the features are cls_2 itself.
    expect(Array.from(out.features.dataSync())).toEqual(Array.from(out.cls2.dataSync()));
    const short = tf.zeros([2, 3, 8]);
    expect(() => model.forward(x, short)).toThrowError(/meta: expected shape \[2, 4, 8\]/);
    tf.dispose([x, meta, short, out as unknown as tf.TensorContainer]);
    model.dispose();
  });

  it('rejects a meta vector of the wrong width, missing meta and wrong image sizes by name', () => {
    const model = new MetaFormer({ ...tinyConfig, attnDepths: [1, 1] });
    const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    const wide = tf.zeros([2, 8]);
    const catchErr = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as DistilleryError;
      }
      throw new Error('expected a throw');
    };
    const e1 = catchErr(() => model.forward(x, wide));
    expect(e1).toBeInstanceOf(DistilleryError);
    expect(e1.argument).toBe('meta');
    expect(e1.message).toMatch(/\[2, 7\]/);
    expect(catchErr(() => model.forward(x)).argument).toBe('meta');
    const small = tf.zeros([2, 16, 16, 3]) as tf.Tensor4D;
    expect(catchErr(() => model.forward(small, tf.zeros([2, 7]))).argument).toBe('images');
    expect(catchErr(() => new MetaFormer({ ...tinyConfig, imageSize: 48 })).argument).toBe('config.imageSize');
    tf.dispose([x, wide, small]);
    model.dispose();
  });
});

describe('MetaFormer init', () => {
  it("the SE conv biases get PyTorch's default U(−1/√fan_in, 1/√fan_in), not zeros", () => {
    const model = new MetaFormer({ ...tinyConfig, seed: 7 });
    const names = model.params.names().filter((n) => /_se_(reduce|expand)\.bias$/.test(n));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const weight = model.params.get(name.replace(/bias$/, 'weight'));
      const fanIn = weight.shape[2]!; // 1×1 conv, HWIO: fan_in = input channels
      const bound = 1 / Math.sqrt(fanIn);
      const values = Array.from(model.params.get(name).dataSync());
      expect(values.every((v) => Math.abs(v) <= bound)).toBe(true);
      // Not all zeros, and spread over the interval: the largest magnitude reaches past a third of the bound.
      expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(bound / 3);
    }
    // The patch-embed conv bias stays zero (OverlapPatchEmbed zeroes it).
    for (const n of model.params.names().filter((x) => /patch_embed\.proj\.bias$/.test(x))) {
      expect(Array.from(model.params.get(n).dataSync()).every((v) => v === 0)).toBe(true);
    }
    model.dispose();
  });
});
