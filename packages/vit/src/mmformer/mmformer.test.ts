import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { crossEntropy, fixtureBytes, fixtureJson } from '../../test/helpers';
import { ceilAvgPool, MMFormer } from './mmformer';

interface T4 {
  shape: number[];
  values: number[];
}
interface Fixture {
  hsi: T4;
  lidar: T4;
  labels: number[];
  evalLogits: number[];
  trainLogits: number[];
  loss: number;
  hsiGrad: T4;
  lidarGrad: T4;
  paramGrads: Record<string, { shape: number[]; values: number[] }>;
  pool: { input: T4; output: T4 };
}

const f = fixtureJson<Fixture>('mmformer_tiny.json');
const tiny = {
  hsiBands: 12,
  lidarBands: 1,
  numClasses: 3,
  patchSize: 5,
  fm: 4,
  heads: 4,
  depth: 1,
  scales: [4, 2, 1],
  dropout: 0,
};
const t4 = (v: T4) => tf.tensor4d(v.values, v.shape as [number, number, number, number]);

describe('MMFormer (coarse-to-fine HSI → LiDAR fusion) parity with the self-consistency reference', () => {
  it('ceil-mode average pooling matches avg_pool2d(ceil_mode=True, count_include_pad=False)', () => {
    const x = t4(f.pool.input);
    const y = ceilAvgPool(x, 2);
    expect(y.shape).toEqual(f.pool.output.shape);
    expectScaledClose(y.dataSync(), f.pool.output.values, 1e-5, 'pool');
    tf.dispose([x, y]);
  });

  it('eval/train logits and gradients match', () => {
    const model = new MMFormer(tiny);
    const report = model.loadSafetensorsBuffer(fixtureBytes('mmformer_tiny.safetensors'));
    expect(report.loaded).toContain('tokenizer.conv5.0.weight');
    const hsi = t4(f.hsi);
    const lidar = t4(f.lidar);
    const ev = model.forward(hsi, lidar);
    expectScaledClose(ev.logits.dataSync(), f.evalLogits, 1e-5, 'eval logits');
    const tr = model.forward(hsi, lidar, { training: true });
    expectScaledClose(tr.logits.dataSync(), f.trainLogits, 1e-5, 'train logits');
    const lossOf = (h: tf.Tensor, l: tf.Tensor) =>
      crossEntropy(model.forward(h as tf.Tensor4D, l as tf.Tensor4D, { training: true }).logits, f.labels);
    const [gh, gl] = tf.grads(lossOf)([hsi, lidar]);
    expectScaledClose(gh!.dataSync(), f.hsiGrad.values, 1e-4, 'hsi grad');
    expectScaledClose(gl!.dataSync(), f.lidarGrad.values, 1e-4, 'lidar grad');
    const names = Object.keys(f.paramGrads);
    const { value, grads } = tf.variableGrads(
      () => lossOf(hsi, lidar),
      names.map((n) => model.params.get(n)),
    );
    expect(value.dataSync()[0]).toBeCloseTo(f.loss, 5);
    for (const n of names) {
      const g = grads[model.params.get(n).name]!;
      const torch = tf.tidy(() =>
        (g.rank === 2 ? tf.transpose(g) : g.rank === 4 ? tf.transpose(g, [3, 2, 0, 1]) : g).dataSync(),
      );
      expectScaledClose(torch, f.paramGrads[n]!.values, 1e-4, `grad ${n}`);
    }
    tf.dispose([hsi, lidar, gh!, gl!, value, ev as unknown as tf.TensorContainer, tr as unknown as tf.TensorContainer]);
    tf.dispose(grads as unknown as tf.TensorContainer);
    model.dispose();
  });

  it('a training step lowers the loss without tensor growth', async () => {
    const model = new MMFormer({ ...tiny, seed: 5 });
    const hsi = tf.randomNormal([4, 5, 5, 12], 0, 1, 'float32', 3) as tf.Tensor4D;
    const lidar = tf.randomNormal([4, 5, 5, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const labels = [0, 1, 2, 1];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(() => crossEntropy(model.forward(hsi, lidar, { training: true }).logits, labels), true, vars)!;
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const l = step();
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[9]!).toBeLessThan(losses[0]! * 0.7);
    await assertNoTensorLeak(step, 1, 'MMFormer training step');
    tf.dispose([hsi, lidar]);
    optimizer.dispose();
    model.dispose();
  }, 240_000);

  it('rejects bad inputs and scale/head mismatches by name', () => {
    const model = new MMFormer(tiny);
    const hsi = tf.zeros([1, 5, 5, 12]) as tf.Tensor4D;
    const lidar = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    expect(() => model.forward(hsi, lidar)).toThrowError(DistilleryError);
    expect(() => model.forward(hsi, lidar)).toThrowError(/^lidar:/);
    expect(() => new MMFormer({ ...tiny, scales: [1, 2, 4] })).toThrowError(/config\.scales\[1\]/);
    expect(() => new MMFormer({ ...tiny, scales: [4, 3] })).toThrowError(/config\.scales\[1\]/);
    tf.dispose([hsi, lidar]);
    model.dispose();
  });
});

describe('MMFormer fusion semantics', () => {
  const hsiOf = (seed: number) => tf.randomNormal([2, 5, 5, 12], 0, 1, 'float32', seed) as tf.Tensor4D;
  const lidarOf = (seed: number) => tf.randomNormal([2, 5, 5, 1], 0, 1, 'float32', seed) as tf.Tensor4D;

  it('the order of the scales matters (coarse → fine is a sequence, not a permutation of heads)', () => {
    const a = new MMFormer({ ...tiny, scales: [4, 2, 1], seed: 3 });
    const b = new MMFormer({ ...tiny, scales: [4, 2, 1], seed: 3 });
    // b gets a's weights with the stages swapped: the same blocks, applied fine → coarse ... by relabelling.
    const state = a.stateDict();
    const swapped = Object.fromEntries(
      Object.entries(state).map(([k, v]) => [
        k
          .replace(/^stages\.0\./, 'stages.X.')
          .replace(/^stages\.2\./, 'stages.0.')
          .replace(/^stages\.X\./, 'stages.2.'),
        v,
      ]),
    );
    b.loadStateDict(swapped);
    const hsi = hsiOf(1);
    const lidar = lidarOf(2);
    const ya = a.forward(hsi, lidar).logits.dataSync();
    const yb = b.forward(hsi, lidar).logits.dataSync();
    let diff = 0;
    for (let i = 0; i < ya.length; i++) diff = Math.max(diff, Math.abs(ya[i]! - yb[i]!));
    expect(diff).toBeGreaterThan(1e-4);
    a.dispose();
    b.dispose();
    tf.dispose([hsi, lidar]);
  });

  it('dropout changes training-mode outputs and leaves inference outputs alone', () => {
    const hsi = hsiOf(11);
    const lidar = lidarOf(12);
    const plain = new MMFormer({ ...tiny, dropout: 0, seed: 9 });
    const dropped = new MMFormer({ ...tiny, dropout: 0.3, seed: 9 });
    dropped.loadStateDict(plain.stateDict());
    const ev0 = plain.forward(hsi, lidar).logits.dataSync();
    const ev1 = dropped.forward(hsi, lidar).logits.dataSync();
    expectScaledClose(ev1, ev0, 1e-6, 'eval logits with and without dropout');
    const tr0 = plain.forward(hsi, lidar, { training: true }).logits.dataSync();
    const tr1 = dropped.forward(hsi, lidar, { training: true }).logits.dataSync();
    let diff = 0;
    for (let i = 0; i < tr0.length; i++) diff = Math.max(diff, Math.abs(tr0[i]! - tr1[i]!));
    expect(diff).toBeGreaterThan(1e-3);
    expect(dropped.config.dropout).toBe(0.3);
    expect(
      new MMFormer({ hsiBands: 12, lidarBands: 1, numClasses: 3, patchSize: 5, fm: 4, heads: 4 }).config.dropout,
    ).toBe(0.1);
    plain.dispose();
    dropped.dispose();
    tf.dispose([hsi, lidar]);
  });
});
