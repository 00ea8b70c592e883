import { assertNoTensorLeak, createRng, initBackend, tf } from '@distillery/tensor';
import { wasmThreadedMatMulCalls, withThreadedMatMulConfig } from '@distillery/tensor/kernels/wasm-simd/batch-matmul';
import { wasmThreadedConv2DCalls } from '@distillery/tensor/kernels/wasm-simd/threaded-conv2d';
import { afterAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../test/helpers';
import { createViT } from './presets';

// The thread pool exists for the wasm backend; on cpu there is nothing to compare.
const onWasm = process.env.DISTILLERY_TEST_BACKEND === 'wasm';

describe.runIf(onWasm)('ViT training on wasm threads', () => {
  afterAll(async () => {
    await initBackend('wasm', { threads: Number(process.env.DISTILLERY_THREADS ?? 1) });
  });

  /** Four AdamW-style steps (tf.train.adam, drop path on, seeded) from a seeded init; returns the final weights. */
  async function train(threads: number) {
    await initBackend('wasm', { threads });
    const model = createViT('deit-tiny-patch4-32', {
      imageSize: 16,
      patchEmbed: 'conv',
      embedDim: 32,
      depth: 2,
      numHeads: 2,
      numClasses: 5,
      dropPathRate: 0.1,
      seed: 7,
    });
    const rng = createRng(5);
    const images = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const labels = [0, 1, 2, 3, 4, 0, 1, 2];
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const step = () =>
      optimizer.minimize(
        () => crossEntropy(model.forward(images, { training: true, rng }).logits, labels) as tf.Scalar,
        true,
        vars,
      ) as tf.Scalar;
    const matmuls = wasmThreadedMatMulCalls.count;
    const convs = wasmThreadedConv2DCalls.count;
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const loss = step();
      losses.push(loss.dataSync()[0] as number);
      loss.dispose();
    }
    const weights = vars.map((v) => v.dataSync().slice() as Float32Array);
    if (threads > 1) await assertNoTensorLeak(() => step(), 2, 'threaded ViT step');
    const pooled = { matmuls: wasmThreadedMatMulCalls.count - matmuls, convs: wasmThreadedConv2DCalls.count - convs };
    images.dispose();
    optimizer.dispose();
    model.dispose();
    return { losses, weights, pooled };
  }

  it('gives the same weights on 1 and 2 threads, and the same again on a second 2-thread run', async () => {
    // Every matMul and conv of the model goes to the pool.
    await withThreadedMatMulConfig({ minFlops: 0, convMinOutChannels: 0, minFlopsPerByte: 0 }, async () => {
      const one = await train(1);
      const two = await train(2);
      const again = await train(2);
      expect(one.pooled).toEqual({ matmuls: 0, convs: 0 });
      expect(two.pooled.matmuls).toBeGreaterThan(50);
      expect(two.pooled.convs).toBeGreaterThan(4);
      expect(one.losses[3]).toBeLessThan(one.losses[0] as number);
      // Bit for bit: the threads split only independent output blocks, never a sum.
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
      expect(two.losses).toEqual(one.losses);
      expect(differing(one.weights, two.weights)).toEqual({ count: 0, worst: 0 });
      expect(differing(two.weights, again.weights)).toEqual({ count: 0, worst: 0 });
    });
  });
});
