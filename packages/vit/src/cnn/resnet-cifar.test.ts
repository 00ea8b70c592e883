import { assertNoTensorLeak, DistilleryError, parseSafetensors, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it, vi } from 'vitest';
import { crossEntropy, fixtureBytes, fixtureJson } from '../../test/helpers';
import { MultiExpertResNet, ResNetCifar, resnet32 } from './resnet-cifar';

interface Fixture {
  input: { shape: number[]; values: number[] };
  labels: number[];
  evalLogits: number[];
  trainLogits: number[];
  expertLogits: number[][] | null;
  loss: number;
  runningMean: number[];
  runningVar: number[];
  inputGrad: { shape: number[]; values: number[] };
  paramGrads: Record<string, { shape: number[]; values: number[] }>;
}

const toTorch = (g: tf.Tensor, layout: 'conv2d' | 'linear' | 'plain'): Float32Array =>
  tf
    .tidy(() => {
      if (layout === 'conv2d') return tf.transpose(g, [3, 2, 0, 1]);
      if (layout === 'linear') return tf.transpose(g, [1, 0]);
      return g;
    })
    .dataSync() as Float32Array;

const cases = [
  [
    'resnet_cifar_tiny',
    () => new ResNetCifar({ blocks: [1, 1, 1], widths: [4, 8, 16], numClasses: 5 }),
    { 'linear.weight': 'linear' },
  ],
  [
    'resnet_cifar_cosine_tiny',
    () => new ResNetCifar({ blocks: [1, 1, 1], widths: [4, 8, 16], numClasses: 5, classifier: 'cosine' }),
    {},
  ],
  [
    'multi_expert_tiny',
    () => new MultiExpertResNet({ blocks: [1, 1, 1], widths: [4, 6, 12], numClasses: 5, numExperts: 2 }),
    {},
  ],
] as const;

describe.each(cases)('%s parity with the PyTorch reference', (name, make, layouts) => {
  const f = fixtureJson<Fixture>(`${name}.json`);
  const images = () => tf.tensor4d(f.input.values, f.input.shape as [number, number, number, number]);

  it('eval and train forwards, BN running buffers and gradients match', () => {
    const model = make();
    model.loadSafetensorsBuffer(fixtureBytes(`${name}.safetensors`));
    const x = images();
    const ev = model.forward(x);
    expectScaledClose(ev.logits.dataSync(), f.evalLogits, 1e-4, 'eval logits');
    const tr = model.forward(x, { training: true });
    expectScaledClose(tr.logits.dataSync(), f.trainLogits, 1e-4, 'train logits');
    if (f.expertLogits) {
      const experts = (tr as { expertLogits: tf.Tensor2D[] }).expertLogits;
      for (const [i, e] of f.expertLogits.entries()) expectScaledClose(experts[i]!.dataSync(), e, 1e-4, `expert ${i}`);
    }
    expectScaledClose(model.params.get('bn1.running_mean').dataSync(), f.runningMean, 1e-4, 'running_mean');
    expectScaledClose(model.params.get('bn1.running_var').dataSync(), f.runningVar, 1e-4, 'running_var');
    expect(model.params.counters.get('bn1.num_batches_tracked')).toBe(4);
    // Gradients (train mode again: batch statistics do not depend on the running buffers).
    const lossFn = (inp: tf.Tensor) =>
      crossEntropy(model.forward(inp as tf.Tensor4D, { training: true }).logits, f.labels);
    const loss = lossFn(x);
    expect(loss.dataSync()[0]).toBeCloseTo(f.loss, 4);
    const inputGrad = tf.grad(lossFn)(x);
    expectScaledClose(inputGrad.dataSync(), f.inputGrad.values, 1e-3, 'input grad');
    const names = Object.keys(f.paramGrads);
    const { value, grads } = tf.variableGrads(
      () => lossFn(x),
      names.map((n) => model.params.get(n)),
    );
    for (const n of names) {
      const layout =
        (layouts as Record<string, 'linear'>)[n] ??
        (n.endsWith('conv1.weight') || n.endsWith('conv2.weight') ? 'conv2d' : 'plain');
      expectScaledClose(toTorch(grads[model.params.get(n).name]!, layout), f.paramGrads[n]!.values, 1e-3, `grad ${n}`);
    }
    tf.dispose([x, ev as unknown as tf.TensorContainer, tr as unknown as tf.TensorContainer, loss, inputGrad, value]);
    tf.dispose(grads as unknown as tf.TensorContainer);
    model.dispose();
  });

  it('toSafetensorsAsync writes the same bytes as toSafetensors without a synchronous read', async () => {
    const model = make();
    model.loadSafetensorsBuffer(fixtureBytes(`${name}.safetensors`));
    const sync = model.toSafetensors({ k: 'v' });
    // WebGPU in browsers cannot read synchronously: every dataSync/arraySync goes through engine.readSync.
    const spy = vi.spyOn(tf.engine(), 'readSync').mockImplementation(() => {
      throw new Error('synchronous read');
    });
    try {
      const bytes = await model.toSafetensorsAsync({ k: 'v' });
      expect(spy).not.toHaveBeenCalled();
      expect(Buffer.from(bytes).equals(Buffer.from(sync))).toBe(true);
    } finally {
      spy.mockRestore();
      model.dispose();
    }
  });

  it('exports the same names, shapes and dtypes (int64 num_batches_tracked) it loaded', () => {
    const model = make();
    const bytes = fixtureBytes(`${name}.safetensors`);
    model.loadSafetensorsBuffer(bytes);
    const original = parseSafetensors(bytes).tensors;
    const exported = parseSafetensors(model.toSafetensors()).tensors;
    expect([...exported.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [n, e] of original) {
      expect(exported.get(n)!.dtype, n).toBe(e.dtype);
      expect(Buffer.from(exported.get(n)!.bytes).equals(Buffer.from(e.bytes)), n).toBe(true);
    }
    model.dispose();
  });
});

describe('CIFAR ResNets', () => {
  it('ResNet-32 has the 0.46M parameters of the paper', () => {
    const model = resnet32({ numClasses: 10 });
    expect(model.numParameters()).toBe(464_154);
    model.dispose();
  });

  it('multi-expert: shared stem, per-expert stages, cosine ×30 logits bounded by s', () => {
    const model = new MultiExpertResNet({ numClasses: 7, numExperts: 3, blocks: [1, 1, 1], widths: [4, 6, 8] });
    const names = model.params.names();
    expect(names).toContain('layer1.0.conv1.weight');
    expect(names).toContain('layer2s.2.0.conv1.weight');
    expect(names).toContain('linears.2.weight');
    expect(names.some((n) => n.startsWith('layer1s'))).toBe(false);
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const out = model.forward(x);
    expect(out.expertLogits).toHaveLength(3);
    for (const e of out.expertLogits)
      expect(Math.max(...Array.from(e.dataSync()).map(Math.abs))).toBeLessThanOrEqual(30.0001);
    const mean = tf.tidy(() => tf.div(tf.addN(out.expertLogits), 3));
    expectScaledClose(out.logits.dataSync(), Array.from(mean.dataSync()), 1e-6, 'mean of experts');
    tf.dispose([x, mean, out as unknown as tf.TensorContainer]);
    model.dispose();
  });

  it.each([
    ['ResNetCifar', () => new ResNetCifar({ blocks: [1, 1, 1], widths: [4, 8, 8], numClasses: 3 })],
    [
      'MultiExpertResNet',
      () => new MultiExpertResNet({ blocks: [1, 1, 1], widths: [4, 8, 8], numClasses: 3, numExperts: 2 }),
    ],
  ] as const)('%s training step lowers the loss on a fixed batch without tensor growth', async (_, make) => {
    const model = make();
    const x = tf.randomNormal([6, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const labels = [0, 1, 2, 0, 1, 2];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(() => crossEntropy(model.forward(x, { training: true }).logits, labels), true, vars)!;
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const l = step();
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.7);
    await assertNoTensorLeak(step, 3, 'CNN training step');
    x.dispose();
    optimizer.dispose();
    model.dispose();
  });

  it('rejects a channel mismatch and a bad config by name', () => {
    const model = new ResNetCifar({ blocks: [1, 1, 1], widths: [4, 8, 8] });
    const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    expect(() => model.forward(x)).toThrowError(DistilleryError);
    expect(() => model.forward(x)).toThrowError(/images: expected 3 channels/);
    expect(() => new ResNetCifar({ blocks: [0, 1, 1] })).toThrowError(/config\.blocks\[0\]/);
    x.dispose();
    model.dispose();
  });
});
