import { assertNoTensorLeak, DistilleryError, parseSafetensors, serializeSafetensors, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { fixtureJson } from '../../test/helpers';
import { type StateDict, stateDictToSafetensors } from '../core/module';
import { ResNet, resnet18, resnet34, resnet50 } from './resnet';

interface Fixture {
  torchvision: string;
  model: 'resnet18' | 'resnet34' | 'resnet50';
  numClasses: number;
  inputShape: [number, number, number, number];
  state: { name: string; shape: number[]; dtype: 'F32' | 'I64'; first?: number[]; absSum?: number }[];
  evalLogits: number[];
  /** ResNet-18 only (see the reference script for why). */
  trainLogits?: number[];
  runningStats?: Record<string, { mean: number[]; var: number[] }>;
  numBatchesTracked?: number;
}

// The counter-based hash of tools/reference/vit/resnet_torchvision.py (`hash_uniform`), bit for bit.
function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

function hashUniform(name: string, n: number): Float64Array {
  const seed = fnv1a(name);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = (seed + Math.imul(i, 0x9e3779b1)) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    out[i] = (h >>> 8) / 2 ** 24;
  }
  return out;
}

/** `value_for` of the reference script: the value of one state-dict tensor in PyTorch layout. */
function valueFor(name: string, shape: number[]): Float32Array {
  const n = shape.reduce((a, d) => a * d, 1);
  const u = hashUniform(name, n);
  const out = new Float32Array(n);
  const fanIn = shape.length > 1 ? n / shape[0]! : 1;
  for (let i = 0; i < n; i++) {
    const v = u[i]!;
    out[i] = name.endsWith('running_mean')
      ? 0.2 * (2 * v - 1)
      : name.endsWith('running_var')
        ? 0.5 + v
        : shape.length === 1 && name.endsWith('weight')
          ? 0.5 + 0.5 * v
          : shape.length === 1
            ? 0.1 * (2 * v - 1)
            : (2 * v - 1) * Math.sqrt(1.5 / fanIn);
  }
  return out;
}

function generatedState(f: Fixture): StateDict {
  const state: StateDict = {};
  for (const e of f.state) {
    state[e.name] =
      e.dtype === 'I64'
        ? { shape: [], data: new Float32Array([7]), dtype: 'I64' }
        : { shape: e.shape, data: valueFor(e.name, e.shape) };
  }
  return state;
}

/** NCHW values of the reference input, as NHWC. */
function inputImages(f: Fixture): tf.Tensor4D {
  const [b, h, w, c] = f.inputShape;
  const nchw = valueFor('input', [b, c, h, w]).map((v) => v * 4 - 2);
  return tf.tidy(() => tf.transpose(tf.tensor4d(nchw, [b, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D);
}

const builders = { resnet18, resnet34, resnet50 };

describe.each(['resnet18', 'resnet34', 'resnet50'] as const)('%s against torchvision 0.14', (name) => {
  const f = fixtureJson<Fixture>(`${name}_torchvision.json`);

  it('torchvision names and shapes; loads the state dict from safetensors; eval logits (and a train step) match', () => {
    const state = generatedState(f);
    // The generator reproduces the reference's weights (fingerprints written by the Python script).
    for (const e of f.state) {
      if (e.dtype === 'I64') continue;
      const data = state[e.name]!.data;
      expectScaledClose(data.subarray(0, 3), e.first!, 1e-8, e.name);
      let abs = 0;
      for (const v of data) abs += Math.abs(v);
      expect(Math.abs(abs - e.absSum!) / e.absSum!, e.name).toBeLessThan(1e-9);
    }
    // ResNet-18 goes through safetensors bytes (the checkpoint path); the larger two load the state dict directly.
    const bytes = name === 'resnet18' ? serializeSafetensors(stateDictToSafetensors(state)) : undefined;
    const model = builders[name]({ numClasses: f.numClasses });
    const x = inputImages(f);
    try {
      const ours = model.params.torchShapes();
      expect([...ours.keys()].sort()).toEqual(f.state.map((e) => e.name).sort());
      for (const e of f.state) expect(ours.get(e.name), e.name).toEqual(e.shape);

      if (bytes) model.loadSafetensorsBuffer(bytes);
      else model.loadStateDict(state);
      const before = tf.memory().numTensors;
      const ev = model.forward(x);
      expectScaledClose(ev.logits.dataSync(), f.evalLogits, 1e-4, 'eval logits');
      expect(ev.features.shape).toEqual([f.inputShape[0], name === 'resnet50' ? 2048 : 512]);
      tf.dispose([ev.logits, ev.features]);
      expect(tf.memory().numTensors).toBe(before);
      if (!bytes) return;
      // Saving writes what was loaded (NCHW/OIHW layout restored, num_batches_tracked as int64).
      const saved = parseSafetensors(model.toSafetensors());
      const original = parseSafetensors(bytes);
      expect([...saved.tensors.keys()].sort()).toEqual([...original.tensors.keys()].sort());
      for (const key of ['conv1.weight', 'layer2.0.downsample.0.weight', 'layer4.1.conv2.weight', 'fc.weight']) {
        // Buffer.equals: vitest's deep equality is far too slow for megabytes.
        expect(Buffer.from(saved.tensors.get(key)!.bytes).equals(original.tensors.get(key)!.bytes), key).toBe(true);
      }
      expect(saved.tensors.get('bn1.num_batches_tracked')!.dtype).toBe('I64');
      const tr = model.forward(x, { training: true });
      // Train-mode BatchNorm over a batch of 2 amplifies float32 rounding: torchvision itself in float32 is 8e-6 off
      // its float64 logits by this measure (max |error| / max |logit|); wasm's summation order gives ~1.7e-4
      // element-wise on the smallest logit, so the train step is held to 1e-4 of the logit scale.
      const trained = tr.logits.dataSync();
      const scale = Math.max(...f.trainLogits!.map(Math.abs));
      const worst = Math.max(...f.trainLogits!.map((e, i) => Math.abs(trained[i]! - e)));
      expect(worst / scale, 'train logits: max |error| / max |logit|').toBeLessThanOrEqual(1e-4);
      tf.dispose([tr.logits, tr.features]);
      for (const [bn, stats] of Object.entries(f.runningStats!)) {
        expectScaledClose(model.params.get(`${bn}.running_mean`).dataSync(), stats.mean, 1e-4, `${bn}.running_mean`);
        expectScaledClose(model.params.get(`${bn}.running_var`).dataSync(), stats.var, 1e-4, `${bn}.running_var`);
        expect(model.params.counters.get(`${bn}.num_batches_tracked`)).toBe(f.numBatchesTracked);
      }
    } finally {
      model.dispose();
      x.dispose();
    }
  }, 300_000);
});

describe('ResNet loading errors and options', () => {
  it('a checkpoint with missing, unexpected and mis-shaped tensors lists each of them', () => {
    const f = fixtureJson<Fixture>('resnet18_torchvision.json');
    const state = generatedState(f);
    delete state['layer3.1.bn2.running_var'];
    state['layer5.0.conv1.weight'] = { shape: [1], data: new Float32Array(1) };
    state['fc.weight'] = { shape: [1000, 512], data: new Float32Array(512_000) };
    const model = resnet18({ numClasses: 10 });
    try {
      let error: unknown;
      try {
        model.loadSafetensorsBuffer(serializeSafetensors(stateDictToSafetensors(state)));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DistilleryError);
      const message = (error as Error).message;
      expect(message).toContain('layer3.1.bn2.running_var: model [256], missing');
      expect(message).toContain('layer5.0.conv1.weight: unexpected');
      expect(message).toContain('fc.weight: model [10, 512], checkpoint [1000, 512]');
    } finally {
      model.dispose();
    }
  });

  it('a checkpoint without num_batches_tracked loads (as in PyTorch); the counters keep their values', () => {
    const f = fixtureJson<Fixture>('resnet18_torchvision.json');
    const state = generatedState(f);
    for (const name of Object.keys(state)) if (name.endsWith('num_batches_tracked')) delete state[name];
    const model = resnet18({ numClasses: 10 });
    try {
      const report = model.loadStateDict(state);
      expect(report.missing).toEqual([]);
      expect(model.params.counters.get('bn1.num_batches_tracked')).toBe(0);
      expect(model.params.get('layer4.1.bn2.running_var').dataSync()).toEqual(state['layer4.1.bn2.running_var']!.data);
    } finally {
      model.dispose();
    }
  });

  it('inChannels changes conv1 only; numClasses the fc; a 1-channel model runs', async () => {
    const model = resnet18({ numClasses: 3, inChannels: 1, seed: 1 });
    try {
      const shapes = model.params.torchShapes();
      expect(shapes.get('conv1.weight')).toEqual([64, 1, 7, 7]);
      expect(shapes.get('fc.weight')).toEqual([3, 512]);
      await assertNoTensorLeak(() => {
        const x = tf.randomNormal([2, 17, 17, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
        const out = model.forward(x, { training: true });
        expect(out.logits.shape).toEqual([2, 3]);
        expect(Array.from(out.logits.dataSync()).every(Number.isFinite)).toBe(true);
        tf.dispose([x, out.logits, out.features]);
      }, 2);
      // torchvision resnet18 has 11,689,512 parameters at 1000 classes and 3 channels.
      expect(model.numParameters()).toBe(11_689_512 - 997 * 513 - 64 * 2 * 49);
    } finally {
      model.dispose();
    }
  });

  it('rejects bad configs and images with DistilleryErrors naming the argument', () => {
    expect(() => new ResNet({ architecture: 'resnet101' as 'resnet18' })).toThrow(/config\.architecture/);
    expect(() => resnet18({ numClasses: 0 })).toThrow(/config\.numClasses/);
    expect(() => resnet50({ depth: 3 } as never)).toThrow(/depth: unknown option/);
    const model = resnet34({ numClasses: 2 });
    try {
      const x = tf.zeros([1, 8, 8, 4]) as tf.Tensor4D;
      expect(() => model.forward(x)).toThrow(/images: expected 3 channels/);
      expect(() => model.forward(x, { train: true } as never)).toThrow(/train: unknown option/);
      x.dispose();
    } finally {
      model.dispose();
    }
  });
});
