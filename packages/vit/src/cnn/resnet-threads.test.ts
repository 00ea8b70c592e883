import { assertNoTensorLeak, initBackend, tf } from '@distillery/tensor';
import { withThreadedMatMulConfig } from '@distillery/tensor/kernels/wasm-simd/batch-matmul';
import { wasmThreadedConv2DCalls } from '@distillery/tensor/kernels/wasm-simd/threaded-conv2d';
import { afterAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../test/helpers';
import { ResNetCifar } from './resnet-cifar';

// The thread pool exists for the wasm backend; on cpu there is nothing to compare.
const onWasm = process.env.DISTILLERY_TEST_BACKEND === 'wasm';

describe.runIf(onWasm)('ResNetCifar training on wasm threads (fused BatchNorm, composed conv gradients)', () => {
  afterAll(async () => {
    await initBackend('wasm', { threads: Number(process.env.DISTILLERY_THREADS ?? 1) });
  });

  /** Three Adam steps from a seeded init (batch-statistics BatchNorm, strided option-A blocks); the final weights. */
  async function train(threads: number) {
    await initBackend('wasm', { threads });
    const model = new ResNetCifar({ blocks: [1, 1, 1], widths: [4, 8, 16], numClasses: 5, inChannels: 2, seed: 3 });
    const images = tf.randomNormal([6, 9, 9, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
    const labels = [0, 1, 2, 3, 4, 0];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(
        () => crossEntropy(model.forward(images, { training: true }).logits, labels) as tf.Scalar,
        true,
        vars,
      ) as tf.Scalar;
    const convs = wasmThreadedConv2DCalls.count;
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const loss = step();
      losses.push(loss.dataSync()[0] as number);
      loss.dispose();
    }
    const weights = [...vars, model.params.get('bn1.running_var')].map((v) => v.dataSync().slice() as Float32Array);
    if (threads > 1) await assertNoTensorLeak(() => step(), 2, 'threaded ResNet step');
    const pooled = wasmThreadedConv2DCalls.count - convs;
    images.dispose();
    optimizer.dispose();
    model.dispose();
    return { losses, weights, pooled };
  }

  it('gives the same weights and running statistics on 1 and 2 threads, and again on a second 2-thread run', async () => {
    // Every conv (forward and both gradients) goes to the pool.
    await withThreadedMatMulConfig({ minFlops: 0, convMinOutChannels: 0 }, async () => {
      const one = await train(1);
      const two = await train(2);
      const again = await train(2);
      expect(one.pooled).toBe(0);
      expect(two.pooled).toBeGreaterThan(20);
      const differing = (a: Float32Array[], b: Float32Array[]) => {
        let count = 0;
        let worst = 0;
        a.forEach((w, i) => {
          const v = b[i] as Float32Array;
          for (let j = 0; j < w.length; j++) {
            if (w[j] !== v[j]) count++;
            worst = Math.max(worst, Math.abs((w[j] as number) - (v[j] as number)));
          }
        });
        return { count, worst };
      };
      expect(differing(two.weights, again.weights)).toEqual({ count: 0, worst: 0 });
      expect(two.losses).toEqual(one.losses);
      expect(differing(one.weights, two.weights)).toEqual({ count: 0, worst: 0 });
    });
  });
});
