import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { crossEntropy, fixtureBytes, fixtureJson } from '../../test/helpers';
import { MFT } from './mft';

interface Fixture {
  hsi: { shape: number[]; values: number[] };
  lidar: { shape: number[]; values: number[] };
  labels: number[];
  evalLogits: number[];
  trainLogits: number[];
  loss: number;
  hsiGrad: { values: number[] };
  lidarGrad: { values: number[] };
  paramGrads: Record<string, { shape: number[]; values: number[] }>;
}

const f = fixtureJson<Fixture>('mft_tiny.json');
const tiny = { hsiBands: 12, lidarBands: 2, numClasses: 3, patchSize: 5, mlpHidden: 32, heads: 2 };
const t4 = (v: { shape: number[]; values: number[] }) =>
  tf.tensor4d(v.values, v.shape as [number, number, number, number]);

const toTorch = (g: tf.Tensor, name: string): Float32Array =>
  tf
    .tidy(() => {
      if (name.endsWith('gwc.weight')) return tf.transpose(g, [3, 2, 0, 1]);
      if (g.rank === 2) return tf.transpose(g, [1, 0]);
      return g;
    })
    .dataSync() as Float32Array;

describe('MFT baseline (MMFormer protocol) parity with the PyTorch reference', () => {
  it('eval/train logits and gradients w.r.t. HSI, LiDAR and parameters match', () => {
    const model = new MFT({ ...tiny, dropout: 0 });
    model.loadSafetensorsBuffer(fixtureBytes('mft_tiny.safetensors'));
    expect(model.groups).toBe(16);
    const hsi = t4(f.hsi);
    const lidar = t4(f.lidar);
    const ev = model.forward(hsi, lidar);
    expectScaledClose(ev.logits.dataSync(), f.evalLogits, 1e-4, 'eval logits');
    const tr = model.forward(hsi, lidar, { training: true });
    expectScaledClose(tr.logits.dataSync(), f.trainLogits, 1e-4, 'train logits');
    const lossOf = (h: tf.Tensor, l: tf.Tensor) =>
      crossEntropy(model.forward(h as tf.Tensor4D, l as tf.Tensor4D, { training: true }).logits, f.labels);
    const [gh, gl] = tf.grads(lossOf)([hsi, lidar]);
    expectScaledClose(gh!.dataSync(), f.hsiGrad.values, 1e-3, 'hsi grad');
    expectScaledClose(gl!.dataSync(), f.lidarGrad.values, 1e-3, 'lidar grad');
    const names = Object.keys(f.paramGrads);
    const { value, grads } = tf.variableGrads(
      () => lossOf(hsi, lidar),
      names.map((n) => model.params.get(n)),
    );
    expect(value.dataSync()[0]).toBeCloseTo(f.loss, 4);
    for (const n of names) {
      expectScaledClose(toTorch(grads[model.params.get(n).name]!, n), f.paramGrads[n]!.values, 1e-3, `grad ${n}`);
    }
    tf.dispose([hsi, lidar, gh!, gl!, value, ev as unknown as tf.TensorContainer, tr as unknown as tf.TensorContainer]);
    tf.dispose(grads as unknown as tf.TensorContainer);
    model.dispose();
  });

  it('a training step lowers the loss without tensor growth (dropout on)', async () => {
    const model = new MFT({ ...tiny, seed: 4 });
    const hsi = tf.randomNormal([4, 5, 5, 12], 0, 1, 'float32', 1) as tf.Tensor4D;
    const lidar = tf.randomNormal([4, 5, 5, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
    const labels = [0, 1, 2, 0];
    const optimizer = tf.train.adam(5e-3);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(() => crossEntropy(model.forward(hsi, lidar, { training: true }).logits, labels), true, vars)!;
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const l = step();
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.7);
    await assertNoTensorLeak(step, 1, 'MFT training step');
    tf.dispose([hsi, lidar]);
    optimizer.dispose();
    model.dispose();
  });

  it('rejects mis-shaped HSI / LiDAR patches by name', () => {
    const model = new MFT(tiny);
    const hsi = tf.zeros([2, 5, 5, 12]) as tf.Tensor4D;
    const badHsi = tf.zeros([2, 5, 5, 10]) as tf.Tensor4D;
    const badLidar = tf.zeros([2, 7, 7, 2]) as tf.Tensor4D;
    const lidar = tf.zeros([2, 5, 5, 2]) as tf.Tensor4D;
    expect(() => model.forward(badHsi, lidar)).toThrowError(DistilleryError);
    expect(() => model.forward(badHsi, lidar)).toThrowError(/^hsi: expected NHWC \[B, 5, 5, 12\]/);
    expect(() => model.forward(hsi, badLidar)).toThrowError(/^lidar:/);
    expect(() => new MFT({ ...tiny, hsiBands: 8 })).toThrowError(/config\.hsiBands/);
    tf.dispose([hsi, badHsi, badLidar, lidar]);
    model.dispose();
  });
});
