import { assertNoTensorLeak, DistilleryError, parseSafetensors, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { crossEntropy, fixtureBytes, fixtureJson } from '../../test/helpers';
import { createViT } from './presets';
import { VisionTransformer } from './vision-transformer';

interface Fixture {
  config: {
    img: number;
    patch: number;
    in_chans: number;
    classes: number;
    dim: number;
    depth: number;
    heads: number;
    distilled?: boolean;
    init_values?: number;
  };
  input: { shape: number[]; values: number[] };
  labels: number[];
  logits: number[];
  clsLogits: number[];
  distLogits: number[] | null;
  block0: number[];
  attn0: number[];
  loss: number;
  inputGrad: { shape: number[]; values: number[] };
  paramGrads: Record<string, { shape: number[]; values: number[] }>;
}

function build(f: Fixture, patchEmbed: 'conv' | 'linear' = 'conv'): VisionTransformer {
  const c = f.config;
  return new VisionTransformer({
    imageSize: c.img,
    patchSize: c.patch,
    inChannels: c.in_chans,
    numClasses: c.classes,
    embedDim: c.dim,
    depth: c.depth,
    numHeads: c.heads,
    distilled: c.distilled ?? false,
    layerScaleInit: c.init_values ?? null,
    patchEmbed,
  });
}

function lossOf(model: VisionTransformer, images: tf.Tensor4D, labels: number[]): tf.Scalar {
  const out = model.forward(images, { training: true });
  if (out.distLogits) {
    const flipped = [...labels].reverse();
    return tf.add(
      tf.mul(crossEntropy(out.clsLogits!, labels), 0.5),
      tf.mul(crossEntropy(out.distLogits, flipped), 0.5),
    ) as tf.Scalar;
  }
  return crossEntropy(out.logits, labels);
}

const toTorch = (g: tf.Tensor, name: string): Float32Array =>
  tf
    .tidy(() => {
      if (name.endsWith('proj.weight') && g.rank === 4) return tf.transpose(g, [3, 2, 0, 1]);
      if (g.rank === 2) return tf.transpose(g, [1, 0]);
      return g;
    })
    .dataSync() as Float32Array;

describe.each([
  ['deit_distilled_tiny', 'conv'],
  ['deit_distilled_tiny', 'linear'],
  ['vit_layerscale_tiny', 'conv'],
] as const)('VisionTransformer parity with the PyTorch reference (%s, %s patch embed)', (name, mode) => {
  const f = fixtureJson<Fixture>(`${name}.json`);

  it('forward on timm-named safetensors weights matches (both heads, block features, attention)', () => {
    const model = build(f, mode);
    const report = model.loadSafetensorsBuffer(fixtureBytes(`${name}.safetensors`));
    expect(report.missing).toEqual([]);
    const images = tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);
    const out = model.forward(images, { collect: [0], returnAttention: true });
    expectScaledClose(out.logits.dataSync(), f.logits, 1e-4, 'logits');
    if (f.distLogits) {
      expectScaledClose(out.clsLogits!.dataSync(), f.clsLogits, 1e-4, 'clsLogits');
      expectScaledClose(out.distLogits!.dataSync(), f.distLogits, 1e-4, 'distLogits');
    } else {
      expect(out.clsLogits).toBeUndefined();
    }
    expectScaledClose(out.blocks[0]!.dataSync(), f.block0, 1e-4, 'block0');
    expectScaledClose(out.attentions![0]!.dataSync(), f.attn0, 1e-4, 'attn0');
    // Without the maps the attention is the fused op: same logits and block features.
    const fused = model.forward(images, { collect: [0] });
    expect(fused.attentions).toBeUndefined();
    expectScaledClose(fused.logits.dataSync(), f.logits, 1e-4, 'logits (fused attention)');
    expectScaledClose(fused.blocks[0]!.dataSync(), f.block0, 1e-4, 'block0 (fused attention)');
    tf.dispose(fused as unknown as tf.TensorContainer);
    const cls = model.classToken(out.blocks[0]!);
    const patches = model.patchTokens(out.blocks[0]!);
    expect(cls.shape).toEqual([f.input.shape[0], f.config.dim]);
    expect(patches.shape).toEqual([f.input.shape[0], model.numPatches, f.config.dim]);
    const n = f.block0.length / f.input.shape[0]! / f.config.dim;
    const expectedCls = Array.from({ length: f.input.shape[0]! }, (_, b) =>
      f.block0.slice(b * n * f.config.dim, b * n * f.config.dim + f.config.dim),
    ).flat();
    expectScaledClose(cls.dataSync(), expectedCls, 1e-4, 'classToken');
    tf.dispose([images, out as unknown as tf.TensorContainer, cls, patches]);
    model.dispose();
  });

  it('loss, input gradient and parameter gradients match', () => {
    const model = build(f, mode);
    model.loadSafetensorsBuffer(fixtureBytes(`${name}.safetensors`));
    const images = tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);
    const loss = lossOf(model, images, f.labels);
    expect(loss.dataSync()[0]).toBeCloseTo(f.loss, 4);
    const inputGrad = tf.grad((x: tf.Tensor) => lossOf(model, x as tf.Tensor4D, f.labels))(images);
    expectScaledClose(inputGrad.dataSync(), f.inputGrad.values, 1e-3, 'input grad');
    const names = Object.keys(f.paramGrads);
    const vars = names.map((n) => model.params.get(n));
    const { value, grads } = tf.variableGrads(() => lossOf(model, images, f.labels), vars);
    for (const n of names) {
      const g = grads[model.params.get(n).name]!;
      expectScaledClose(toTorch(g, n), f.paramGrads[n]!.values, 1e-3, `grad ${n}`);
    }
    tf.dispose([images, loss, inputGrad, value, grads as unknown as tf.TensorContainer]);
    model.dispose();
  });
});

describe('VisionTransformer', () => {
  it('exports back to the same timm names, shapes and values', () => {
    const bytes = fixtureBytes('deit_distilled_tiny.safetensors');
    const f = fixtureJson<Fixture>('deit_distilled_tiny.json');
    const model = build(f);
    model.loadSafetensorsBuffer(bytes);
    const original = parseSafetensors(bytes).tensors;
    const exported = parseSafetensors(model.toSafetensors()).tensors;
    expect([...exported.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, entry] of original) {
      const e = exported.get(name)!;
      expect(e.shape, name).toEqual(entry.shape);
      expect(Buffer.from(e.bytes).equals(Buffer.from(entry.bytes)), name).toBe(true);
    }
    expect(original.get('blocks.0.attn.qkv.weight')!.shape).toEqual([72, 24]);
    expect(original.get('patch_embed.proj.weight')!.shape).toEqual([24, 3, 2, 2]);
    model.dispose();
  });

  it('conv and linear patch embeddings compute the same map from the same weights', () => {
    const a = createViT('deit-tiny-patch2-8', { depth: 1, embedDim: 12, numHeads: 2, numClasses: 3, seed: 5 });
    const b = createViT('deit-tiny-patch2-8', {
      depth: 1,
      embedDim: 12,
      numHeads: 2,
      numClasses: 3,
      seed: 5,
      patchEmbed: 'linear',
    });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    // The embeddings are 12-term sums, summed in another order by the conv than by the matMul: float32 rounding only.
    const pa = tf.tidy(() => a.patchEmbed.apply(x));
    const pb = tf.tidy(() => b.patchEmbed.apply(x));
    expectScaledClose(pb.dataSync(), Array.from(pa.dataSync()), 1e-5, 'patch embedding, linear vs conv');
    // Random-init logits are ~1e-3 differences of ~1e-2 terms, so that rounding grows through LayerNorm and attention:
    // over 300 inputs the worst was 1.9e-5 (cpu) and 1.4e-5 (wasm threads, FMA matMul against XNNPACK's conv).
    const ya = a.forward(x);
    const yb = b.forward(x);
    expectScaledClose(yb.logits.dataSync(), Array.from(ya.logits.dataSync()), 1e-4, 'logits, linear vs conv');
    tf.dispose([x, pa, pb, ya as unknown as tf.TensorContainer, yb as unknown as tf.TensorContainer]);
    a.dispose();
    b.dispose();
  });

  it('presets have the DeiT sizes; init is seeded and timm-like', () => {
    const tiny = createViT('deit-tiny-patch16-224', { distilled: true });
    // timm deit_tiny_distilled_patch16_224: 5,910,800 parameters.
    expect(tiny.numParameters()).toBe(5_910_800);
    expect(tiny.params.get('pos_embed').shape).toEqual([1, 198, 192]);
    const std = (t: tf.Tensor) => tf.tidy(() => Math.sqrt(tf.moments(t).variance.dataSync()[0]!));
    expect(std(tiny.params.get('blocks.0.attn.qkv.weight'))).toBeCloseTo(0.02, 3);
    expect(std(tiny.params.get('cls_token'))).toBeLessThan(1e-5);
    expect(
      tiny.params
        .get('blocks.3.attn.qkv.bias')
        .dataSync()
        .every((v) => v === 0),
    ).toBe(true);
    tiny.dispose();
    const a = createViT('deit-tiny-patch4-32', { depth: 1, seed: 7 });
    const b = createViT('deit-tiny-patch4-32', { depth: 1, seed: 7 });
    expect(Array.from(a.params.get('head.weight').dataSync())).toEqual(
      Array.from(b.params.get('head.weight').dataSync()),
    );
    a.dispose();
    b.dispose();
  });

  it('a training step (tf.train.adam, drop path on) lowers the loss on a fixed batch without tensor growth', async () => {
    const model = createViT('deit-tiny-patch2-8', {
      embedDim: 16,
      depth: 2,
      numHeads: 2,
      numClasses: 4,
      distilled: true,
      dropPathRate: 0.1,
      seed: 3,
    });
    const { createRng } = await import('@distillery/tensor');
    const rng = createRng(11);
    const images = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const labels = [0, 1, 2, 3];
    const teacher = [3, 2, 1, 0];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(
        () => {
          const out = model.forward(images, { training: true, rng });
          return tf.add(
            tf.mul(crossEntropy(out.clsLogits!, labels), 0.5),
            tf.mul(crossEntropy(out.distLogits!, teacher), 0.5),
          ) as tf.Scalar;
        },
        true,
        vars,
      )!;
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const l = step();
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[9]!).toBeLessThan(losses[0]! * 0.6);
    await assertNoTensorLeak(step, 3, 'ViT training step');
    images.dispose();
    optimizer.dispose();
    model.dispose();
  });

  it('inference does not leak', async () => {
    const model = createViT('deit-tiny-patch2-8', { embedDim: 8, depth: 1, numHeads: 2, numClasses: 2 });
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    await assertNoTensorLeak(() => model.forward(x, { collect: [0], returnAttention: true }), 3, 'forward');
    x.dispose();
    model.dispose();
  });

  it('rejects bad inputs and configs by name', () => {
    const model = createViT('deit-tiny-patch4-32', { depth: 1, embedDim: 8, numHeads: 2, numClasses: 2 });
    const wrongSize = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    const wrongChannels = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as DistilleryError;
      }
      throw new Error('expected a throw');
    };
    expect(err(() => model.forward(wrongSize))).toBeInstanceOf(DistilleryError);
    expect(err(() => model.forward(wrongSize)).argument).toBe('images');
    expect(err(() => model.forward(wrongSize)).message).toMatch(/32×32/);
    expect(err(() => model.forward(wrongChannels)).argument).toBe('images');
    expect(err(() => model.forward(wrongChannels)).message).toMatch(/3 channels/);
    expect(err(() => model.forward(tf.zeros([32, 32, 3]) as unknown as tf.Tensor4D)).code).toBe('INVALID_RANK');
    expect(err(() => model.forward(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D, { collect: [1] })).argument).toBe(
      'options.collect',
    );
    expect(err(() => createViT('deit-tiny-patch4-32', { patchSize: 5 })).argument).toBe('config.patchSize');
    expect(err(() => createViT('deit-tiny-patch4-32', { numHeads: 5 })).argument).toBe('config.numHeads');
    expect(err(() => createViT('nope' as 'deit-tiny-patch4-32')).argument).toBe('preset');
    tf.dispose([wrongSize, wrongChannels]);
    model.dispose();
  });

  it('strict loading lists every missing, unexpected and mis-shaped tensor with both shapes', () => {
    const f = fixtureJson<Fixture>('deit_distilled_tiny.json');
    const model = build(f);
    const state = model.stateDict();
    state['blocks.0.attn.qkv.weight'] = { shape: [24, 24], data: new Float32Array(576) };
    delete state['head_dist.bias'];
    state['extra.weight'] = { shape: [2], data: new Float32Array(2) };
    let error: DistilleryError | undefined;
    try {
      model.loadStateDict(state);
    } catch (e) {
      error = e as DistilleryError;
    }
    expect(error).toBeInstanceOf(DistilleryError);
    expect(error!.argument).toBe('state');
    expect(error!.message).toMatch(/blocks\.0\.attn\.qkv\.weight: model \[72, 24\], checkpoint \[24, 24\]/);
    expect(error!.message).toMatch(/head_dist\.bias: model \[5\], missing/);
    expect(error!.message).toMatch(/extra\.weight: unexpected, checkpoint \[2\]/);
    // Non-strict: missing/extra allowed and reported; a mis-shaped tensor still throws.
    expect(() => model.loadStateDict(state, { strict: false })).toThrow(/qkv/);
    state['blocks.0.attn.qkv.weight'] = { shape: [72, 24], data: new Float32Array(72 * 24).fill(0.5) };
    const report = model.loadStateDict(state, { strict: false });
    expect(report.missing).toEqual(['head_dist.bias']);
    expect(report.unexpected).toEqual(['extra.weight']);
    expect(model.params.get('blocks.0.attn.qkv.weight').dataSync()[0]).toBe(0.5);
    model.dispose();
  });
});
