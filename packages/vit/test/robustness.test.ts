/**
 * The reliability sweep for @distillery/vit (LaViT has its own file, robustness-lavit.test.ts): every public
 * function and class given the inputs a careless user gives it. Each bad input must throw a DistilleryError (the
 * one class of @distillery/tensor) whose `argument` names what was wrong — never a raw tfjs error, a TypeError, an
 * ignored option or a silent result.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRng, DistilleryError, tf } from '@distillery/tensor';
import { expectDistilleryError } from '@distillery/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Attention,
  addLinear,
  applyMetaDropout,
  BatchNorm2d,
  Block,
  Conv2d,
  ceilAvgPool,
  createMetaFormer,
  createViT,
  drop,
  dropPath,
  encodeSpatial,
  encodeSpatioTemporal,
  encodeTemporal,
  l2Normalize,
  layerNorm,
  linear,
  MetaEncoder,
  MetaFormer,
  MFT,
  Mlp,
  MMFormer,
  MultiExpertResNet,
  mergeHeads,
  metaMaskProbability,
  NormedLinear,
  ParamStore,
  PatchEmbed,
  ResNetCifar,
  resnet32,
  splitHeads,
  VisionTransformer,
} from '../src/index';

let tried = 0;
const functions = new Set<string>();

/** Expects `fn` to throw a DistilleryError whose argument is `argument` (and code, when given); counts it. */
function expectError(fn: () => unknown, argument: string, code?: string): DistilleryError {
  tried++;
  return expectDistilleryError(fn, argument, { code, prefixed: true });
}

const bad = (name: string, body: () => void | Promise<void>) =>
  it(name, async () => {
    functions.add(name.split(':')[0]!);
    await body();
  });

const tiny = { imageSize: 8, patchSize: 2, embedDim: 8, depth: 1, numHeads: 2, numClasses: 3 };
const anyOf = <T>(v: unknown) => v as T;

afterAll(() => {
  // The counts the closing note reports.
  console.log(`vit robustness: ${functions.size} functions, ${tried} bad inputs, all DistilleryErrors`);
});

describe('@distillery/vit robustness (bad inputs give a DistilleryError naming the argument)', () => {
  bad('VisionTransformer: enums, unknown keys, inconsistent sizes', () => {
    expectError(() => new VisionTransformer({ ...tiny, patchEmbed: anyOf('convv') }), 'config.patchEmbed');
    expectError(() => new VisionTransformer({ ...tiny, clsTokenInit: anyOf('vit') }), 'config.clsTokenInit');
    expectError(() => new VisionTransformer({ ...tiny, ...anyOf<object>({ embed_dim: 8 }) }), 'config.embed_dim');
    expectError(() => new VisionTransformer({ ...tiny, imageSize: 9 }), 'config.patchSize');
    expectError(() => new VisionTransformer({ ...tiny, numHeads: 3 }), 'config.numHeads');
    expectError(() => new VisionTransformer(anyOf(null)), 'config');
    expectError(() => new VisionTransformer({ ...tiny, mlpRatio: 0 }), 'config.mlpRatio');
    const e = expectError(() => new VisionTransformer({ ...tiny, patchEmbed: anyOf('convv') }), 'config.patchEmbed');
    expect(e.message).toMatch(/"conv", "linear"/);
  });

  bad('VisionTransformer.forward: options and image shapes', () => {
    const model = new VisionTransformer(tiny);
    const x = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
    expectError(() => model.forward(x, anyOf({ trainig: true })), 'options.trainig');
    expectError(() => model.forward(x, { collect: anyOf(0) }), 'options.collect');
    expectError(() => model.forward(x, { collect: [1] }), 'options.collect');
    const wrongChannels = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    expectError(() => model.forward(wrongChannels), 'images', 'SHAPE_MISMATCH');
    const wrongSize = tf.zeros([2, 6, 6, 3]) as tf.Tensor4D;
    expectError(() => model.forward(wrongSize), 'images', 'SHAPE_MISMATCH');
    const rank3 = tf.zeros([8, 8, 3]);
    expectError(() => model.forward(anyOf(rank3)), 'images', 'INVALID_RANK');
    expectError(() => model.forward(anyOf([[1]])), 'images');
    tf.dispose([x, wrongChannels, wrongSize, rank3]);
    model.dispose();
  });

  bad('VisionTransformer.classToken: ranks and widths', () => {
    const model = new VisionTransformer(tiny);
    const rank2 = tf.zeros([2, 8]);
    expectError(() => model.classToken(anyOf(rank2)), 'tokens', 'INVALID_RANK');
    const wide = tf.zeros([2, 17, 5]);
    expectError(() => model.classToken(anyOf(wide)), 'tokens', 'SHAPE_MISMATCH');
    expectError(() => model.classToken(anyOf(undefined)), 'tokens');
    tf.dispose([rank2, wide]);
    model.dispose();
  });

  bad('VisionTransformer.patchTokens: ranks and prefix', () => {
    const model = new VisionTransformer({ ...tiny, distilled: true });
    const rank2 = tf.zeros([2, 8]);
    expectError(() => model.patchTokens(anyOf(rank2)), 'tokens', 'INVALID_RANK');
    const onlyPrefix = tf.zeros([2, 2, 8]);
    expectError(() => model.patchTokens(anyOf(onlyPrefix)), 'tokens', 'SHAPE_MISMATCH');
    tf.dispose([rank2, onlyPrefix]);
    model.dispose();
  });

  bad('createViT: presets and overrides', () => {
    expectError(() => createViT(anyOf('deit-tiny')), 'preset');
    expectError(() => createViT(anyOf('toString')), 'preset');
    expectError(() => createViT('deit-tiny-patch2-8', anyOf({ num_classes: 3 })), 'overrides.num_classes');
    expectError(() => createViT('deit-tiny-patch2-8', { patchEmbed: anyOf('convv') }), 'overrides.patchEmbed');
  });

  bad('PatchEmbed: mode and image shapes', () => {
    const store = new ParamStore();
    const rng = createRng(0);
    expectError(() => new PatchEmbed(store, 'pe0', 2, 3, 8, rng, anyOf('convv')), 'mode');
    const pe = new PatchEmbed(store, 'pe', 2, 3, 8, rng);
    const odd = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    expectError(() => pe.apply(odd), 'images', 'SHAPE_MISMATCH');
    const channels = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    expectError(() => pe.apply(channels), 'images', 'SHAPE_MISMATCH');
    tf.dispose([odd, channels]);
    store.dispose();
  });

  bad('Attention: options and token shapes', () => {
    const store = new ParamStore();
    const rng = createRng(0);
    expectError(() => new Attention(store, 'a0', 8, 2, rng, anyOf({ qkv_bias: true })), 'options.qkv_bias');
    expectError(() => new Attention(store, 'a1', 8, 3, rng), 'config.numHeads');
    const attn = new Attention(store, 'a', 8, 2, rng);
    const wrong = tf.zeros([1, 4, 6]) as tf.Tensor3D;
    expectError(() => attn.apply(wrong), 'x', 'SHAPE_MISMATCH');
    const rank2 = tf.zeros([4, 8]);
    expectError(() => attn.apply(anyOf(rank2)), 'x', 'INVALID_RANK');
    tf.dispose([wrong, rank2]);
    store.dispose();
  });

  bad('Block: options, run options and token shapes', () => {
    const store = new ParamStore();
    const rng = createRng(0);
    expectError(() => new Block(store, 'b0', 8, 2, rng, anyOf({ drop_path: 0.1 })), 'options.drop_path');
    expectError(() => new Block(store, 'b1', 8, 2, rng, { dropPath: 2 }), 'options.dropPath');
    const block = new Block(store, 'b', 8, 2, rng);
    const x = tf.zeros([1, 4, 8]) as tf.Tensor3D;
    expectError(() => block.apply(x, anyOf({ train: true })), 'run.train');
    const wrong = tf.zeros([1, 4, 6]) as tf.Tensor3D;
    expectError(() => block.apply(wrong), 'x', 'SHAPE_MISMATCH');
    tf.dispose([x, wrong]);
    store.dispose();
  });

  bad('Mlp: feature width', () => {
    const store = new ParamStore();
    const mlp = new Mlp(store, 'm', 8, 16, createRng(0));
    const wrong = tf.zeros([2, 6]);
    expectError(() => mlp.apply(wrong), 'x', 'SHAPE_MISMATCH');
    tf.dispose(wrong);
    store.dispose();
  });

  bad('splitHeads / mergeHeads: ranks and divisibility', () => {
    const x = tf.zeros([1, 4, 6]);
    expectError(() => splitHeads(x, 4), 'x', 'SHAPE_MISMATCH');
    expectError(() => splitHeads(x, 0), 'heads');
    const rank2 = tf.zeros([4, 6]);
    expectError(() => splitHeads(rank2, 2), 'x', 'INVALID_RANK');
    expectError(() => mergeHeads(x), 'x', 'INVALID_RANK');
    tf.dispose([x, rank2]);
  });

  bad('ResNetCifar: classifier enum, unknown keys, stage arrays, forward', () => {
    const cfg = { blocks: [1, 1, 1] as [number, number, number], widths: [4, 8, 8] as [number, number, number] };
    expectError(() => new ResNetCifar({ ...cfg, classifier: anyOf('cos') }), 'config.classifier');
    expectError(() => new ResNetCifar({ ...cfg, ...anyOf<object>({ num_classes: 3 }) }), 'config.num_classes');
    expectError(() => new ResNetCifar({ ...cfg, blocks: anyOf([1, 1]) }), 'config.blocks');
    expectError(() => new ResNetCifar({ ...cfg, widths: [4, 0, 8] }), 'config.widths[1]');
    expectError(() => new ResNetCifar({ ...cfg, scale: -1 }), 'config.scale');
    const model = new ResNetCifar(cfg);
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    expectError(() => model.forward(x, anyOf({ trainig: true })), 'options.trainig');
    const gray = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    expectError(() => model.forward(gray), 'images', 'SHAPE_MISMATCH');
    const rank3 = tf.zeros([8, 8, 3]);
    expectError(() => model.forward(anyOf(rank3)), 'images', 'INVALID_RANK');
    tf.dispose([x, gray, rank3]);
    model.dispose();
  });

  bad('resnet32: blocks are fixed; enums are checked', () => {
    expectError(() => resnet32(anyOf({ blocks: [1, 1, 1] })), 'config.blocks');
    expectError(() => resnet32({ classifier: anyOf('cos') }), 'config.classifier');
  });

  bad('MultiExpertResNet: enums, unknown keys, counts, forward', () => {
    const cfg = { blocks: [1, 1, 1] as [number, number, number], widths: [4, 8, 8] as [number, number, number] };
    expectError(() => new MultiExpertResNet({ ...cfg, classifier: anyOf('cos') }), 'config.classifier');
    expectError(() => new MultiExpertResNet({ ...cfg, ...anyOf<object>({ num_experts: 2 }) }), 'config.num_experts');
    expectError(() => new MultiExpertResNet({ ...cfg, numExperts: 0 }), 'config.numExperts');
    const model = new MultiExpertResNet({ ...cfg, numExperts: 2 });
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    expectError(() => model.forward(x, anyOf({ eval: true })), 'options.eval');
    tf.dispose(x);
    model.dispose();
  });

  bad('Conv2d: options and input channels', () => {
    const store = new ParamStore();
    const rng = createRng(0);
    expectError(() => new Conv2d(store, 'c0', 3, 4, 3, 1, 1, rng, { init: anyOf('kaiming') }), 'options.init');
    expectError(() => new Conv2d(store, 'c1', 3, 4, 3, 1, 1, rng, { biasInit: anyOf('ones') }), 'options.biasInit');
    expectError(() => new Conv2d(store, 'c2', 3, 4, 3, 1, 1, rng, anyOf({ bias_: true })), 'options.bias_');
    const conv = new Conv2d(store, 'c', 3, 4, 3, 1, 1, rng);
    const x = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
    expectError(() => conv.apply(x), 'x', 'SHAPE_MISMATCH');
    tf.dispose(x);
    store.dispose();
  });

  bad('BatchNorm2d.apply: channels and rank', () => {
    const store = new ParamStore();
    const bn = new BatchNorm2d(store, 'bn', 4);
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expectError(() => bn.apply(x, true), 'x', 'SHAPE_MISMATCH');
    const rank3 = tf.zeros([2, 2, 4]);
    expectError(() => bn.apply(anyOf(rank3), false), 'x', 'INVALID_RANK');
    tf.dispose([x, rank3]);
    store.dispose();
  });

  bad('NormedLinear.apply / l2Normalize: widths and axes', () => {
    const store = new ParamStore();
    const head = new NormedLinear(store, 'h', 4, 3, createRng(0));
    const x = tf.zeros([2, 5]) as tf.Tensor2D;
    expectError(() => head.apply(x), 'x', 'SHAPE_MISMATCH');
    expectError(() => l2Normalize(x, 2), 'axis');
    expectError(() => l2Normalize(anyOf([1, 2]), 0), 'x');
    tf.dispose(x);
    store.dispose();
  });

  bad('addLinear: init enum and unknown keys', () => {
    const store = new ParamStore();
    const rng = createRng(0);
    expectError(() => addLinear(store, 'l0', 4, 3, rng, { init: anyOf('xavier') }), 'options.init');
    expectError(() => addLinear(store, 'l1', 4, 3, rng, anyOf({ biass: false })), 'options.biass');
    store.dispose();
  });

  bad('linear / layerNorm: feature widths', () => {
    const x = tf.zeros([2, 5]);
    const w = tf.zeros([4, 3]);
    expectError(() => linear(x, w), 'x', 'SHAPE_MISMATCH');
    const g = tf.ones([4]);
    const b = tf.zeros([4]);
    expectError(() => layerNorm(x, g, b, 1e-6), 'x', 'SHAPE_MISMATCH');
    const x4 = tf.zeros([2, 4]);
    expectError(() => layerNorm(x4, g, b, 0), 'eps');
    tf.dispose([x, w, g, b, x4]);
  });

  bad('dropPath / drop: rates', () => {
    const x = tf.ones([2, 3]);
    const rng = createRng(0);
    expectError(() => dropPath(x, 2, true, rng), 'rate');
    expectError(() => dropPath(x, -0.1, true, rng), 'rate');
    expectError(() => drop(x, 1.5, true, rng), 'rate');
    expectError(() => drop(x, 1, true, rng), 'rate');
    expectError(() => drop(x, Number.NaN, false, rng), 'rate');
    tf.dispose(x);
  });

  bad('ceilAvgPool: rank and factor', () => {
    const grid = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
    const rank3 = tf.zeros([5, 5, 2]);
    expectError(() => ceilAvgPool(anyOf(rank3), 2), 'grid', 'INVALID_RANK');
    expectError(() => ceilAvgPool(grid, 0), 's');
    expectError(() => ceilAvgPool(grid, 1.5), 's');
    tf.dispose([grid, rank3]);
  });

  bad('ParamStore: layouts, names, state dicts', () => {
    const store = new ParamStore();
    expectError(() => store.add('w', tf.zeros([2, 2]), anyOf('linaer')), 'layout');
    expectError(() => store.get('nope'), 'name');
    store.add('w', tf.zeros([2, 2]), 'linear');
    expectError(() => store.add('w', tf.zeros([2, 2])), 'name');
    expectError(() => store.loadStateDict({}, anyOf({ strict_: false })), 'options.strict_');
    expectError(() => store.loadStateDict(anyOf(null)), 'state');
    expectError(() => store.loadStateDict({ w: { shape: [3, 2], data: new Float32Array(6) } }), 'state');
    store.dispose();
  });

  bad('Module.loadSafetensors: bytes are accepted, anything else is refused in one line', async () => {
    const model = new VisionTransformer({ ...tiny, seed: 1 });
    const other = new VisionTransformer({ ...tiny, seed: 2 });
    const bytes = model.toSafetensors();
    await other.loadSafetensors(bytes);
    expect(Array.from(other.params.get('pos_embed').dataSync())).toEqual(
      Array.from(model.params.get('pos_embed').dataSync()),
    );
    await other.loadSafetensors(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    for (const source of [42, null, [1, 2, 3], new Float32Array(4)]) {
      tried++;
      const error = await other.loadSafetensors(anyOf(source)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DistilleryError);
      expect((error as DistilleryError).argument).toBe('source');
      expect((error as DistilleryError).message.length).toBeLessThan(200);
      expect((error as DistilleryError).message).not.toMatch(/\n/);
    }
    model.dispose();
    other.dispose();
  });

  bad('metaMaskProbability: schedule options', () => {
    expectError(() => metaMaskProbability(1, 10, { maskType: anyOf('linar') }), 'options.maskType');
    expectError(() => metaMaskProbability(1, 10, anyOf({ mask_prob: 0.5 })), 'options.mask_prob');
    expectError(() => metaMaskProbability(1, 10, { maskProb: 2 }), 'options.maskProb');
    expectError(() => metaMaskProbability(1, 0), 'totalEpochs');
    expectError(() => metaMaskProbability(-1, 10), 'epoch');
  });

  bad('applyMetaDropout: meta rank and p', () => {
    const rng = createRng(0);
    const rank1 = tf.zeros([4]);
    expectError(() => applyMetaDropout(rank1, 0.5, rng), 'meta', 'INVALID_RANK');
    const meta = tf.zeros([4, 7]);
    expectError(() => applyMetaDropout(meta, 2, rng), 'p');
    tf.dispose([rank1, meta]);
  });

  const metaTiny = {
    imageSize: 32,
    numClasses: 3,
    convEmbedDims: [8, 8, 16] as [number, number, number],
    attnEmbedDims: [16, 32] as [number, number],
    convDepths: [1, 1, 1] as [number, number, number],
    attnDepths: [1, 1] as [number, number],
    numHeads: 2,
    metaDims: [4, 3],
  };

  bad('MetaFormer: config keys, nested metaMask, dims, forward', () => {
    expectError(() => new MetaFormer({ ...metaTiny, ...anyOf<object>({ num_heads: 2 }) }), 'config.num_heads');
    expectError(() => new MetaFormer({ ...metaTiny, metaMask: anyOf({ prob: 1 }) }), 'config.metaMask.prob');
    expectError(
      () => new MetaFormer({ ...metaTiny, metaMask: { maskType: anyOf('step') } }),
      'config.metaMask.maskType',
    );
    expectError(() => new MetaFormer({ ...metaTiny, convEmbedDims: anyOf([8, 8]) }), 'config.convEmbedDims');
    expectError(() => new MetaFormer({ ...metaTiny, imageSize: 40 }), 'config.imageSize');
    expectError(() => new MetaFormer({ ...metaTiny, metaDims: anyOf(7) }), 'config.metaDims');
    const model = new MetaFormer(metaTiny);
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    const meta = tf.zeros([1, 7]);
    expectError(() => model.forward(x, meta, anyOf({ epochs: 1 })), 'options.epochs');
    const wrongMeta = tf.zeros([1, 5]);
    expectError(() => model.forward(x, wrongMeta), 'meta', 'SHAPE_MISMATCH');
    expectError(() => model.forward(x), 'meta');
    tf.dispose([x, meta, wrongMeta]);
    model.dispose();
  });

  bad('createMetaFormer: presets and overrides', () => {
    expectError(() => createMetaFormer(anyOf('metafg-0')), 'preset');
    expectError(() => createMetaFormer('metafg-meta-0', anyOf({ image_size: 32 })), 'overrides.image_size');
  });

  bad('MetaEncoder.apply: meta width', () => {
    const store = new ParamStore();
    const enc = new MetaEncoder(store, 'm', 4, 8, createRng(0));
    const wrong = tf.zeros([2, 3]);
    expectError(() => enc.apply(wrong), 'x', 'SHAPE_MISMATCH');
    tf.dispose(wrong);
    store.dispose();
  });

  bad('encodeTemporal: ranges (and the one DistilleryError class)', () => {
    expectError(() => encodeTemporal(13), 'month', 'OUT_OF_RANGE');
    expectError(() => encodeTemporal(0), 'month', 'OUT_OF_RANGE');
    expectError(() => encodeTemporal(6, 24), 'hour', 'OUT_OF_RANGE');
    expectError(() => encodeTemporal(6.5), 'month', 'NOT_INTEGER');
  });

  bad('encodeSpatial: ranges and options', () => {
    expectError(() => encodeSpatial(91, 10), 'latitude', 'OUT_OF_RANGE');
    expectError(() => encodeSpatial(10, 400), 'longitude', 'OUT_OF_RANGE');
    expectError(() => encodeSpatial(10, 10, anyOf({ zeroIsMissing: false })), 'options.zeroIsMissing');
  });

  bad('encodeSpatioTemporal: input keys and options', () => {
    expectError(() => encodeSpatioTemporal(anyOf(null)), 'input');
    expectError(() => encodeSpatioTemporal(anyOf({ lat: 10, lon: 20 })), 'input.lat');
    expectError(() => encodeSpatioTemporal({ month: 1 }, anyOf({ zero: true })), 'options.zero');
  });

  const hsiTiny = { hsiBands: 12, lidarBands: 1, numClasses: 3, patchSize: 5, fm: 4, heads: 4 };

  bad('MFT: config keys and sizes, forward options and inputs', () => {
    expectError(() => new MFT({ ...hsiTiny, ...anyOf<object>({ hsiToken: 4 }) }), 'config.hsiToken');
    expectError(() => new MFT({ ...hsiTiny, heads: 3 }), 'config.heads');
    expectError(() => new MFT({ ...hsiTiny, dropout: 1 }), 'config.dropout');
    expectError(() => new MFT({ ...hsiTiny, hsiBands: 8 }), 'config.hsiBands');
    const model = new MFT(hsiTiny);
    const hsi = tf.zeros([1, 5, 5, 12]) as tf.Tensor4D;
    const lidar = tf.zeros([1, 5, 5, 1]) as tf.Tensor4D;
    expectError(() => model.forward(hsi, lidar, anyOf({ training: true, seed: 1 })), 'options.seed');
    const wrongLidar = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
    expectError(() => model.forward(hsi, wrongLidar), 'lidar', 'SHAPE_MISMATCH');
    const rank3 = tf.zeros([5, 5, 12]);
    expectError(() => model.forward(anyOf(rank3), lidar), 'hsi', 'INVALID_RANK');
    tf.dispose([hsi, lidar, wrongLidar, rank3]);
    model.dispose();
  });

  bad('MMFormer: config keys, scales, dropout, forward options and inputs', () => {
    expectError(() => new MMFormer({ ...hsiTiny, ...anyOf<object>({ scale: [2, 1] }) }), 'config.scale');
    expectError(() => new MMFormer({ ...hsiTiny, scales: [1, 2] }), 'config.scales[1]');
    expectError(() => new MMFormer({ ...hsiTiny, scales: [] }), 'config.scales');
    expectError(() => new MMFormer({ ...hsiTiny, dropout: 1 }), 'config.dropout');
    expectError(() => new MMFormer(anyOf(undefined)), 'config');
    const model = new MMFormer(hsiTiny);
    const hsi = tf.zeros([1, 5, 5, 12]) as tf.Tensor4D;
    const lidar = tf.zeros([1, 5, 5, 1]) as tf.Tensor4D;
    expectError(() => model.forward(hsi, lidar, anyOf({ train: true })), 'options.train');
    const wrongHsi = tf.zeros([1, 5, 5, 10]) as tf.Tensor4D;
    expectError(() => model.forward(wrongHsi, lidar), 'hsi', 'SHAPE_MISMATCH');
    tf.dispose([hsi, lidar, wrongHsi]);
    model.dispose();
  });
});

describe('one DistilleryError class', () => {
  it('no vit source imports the errors sub-path (which bundles its own copy of the class)', () => {
    const root = path.resolve(__dirname, '../src');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(root);
    const offenders = files.filter((f) => /from\s+['"]@distillery\/tensor\/errors['"]/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(root, f))).toEqual([]);
  });
});
