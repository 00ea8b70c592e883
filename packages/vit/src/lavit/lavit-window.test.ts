import { tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { LaViT } from './lavit';

/**
 * Old token t of an g×g raster grid (row r = ⌊t/g⌋, column c = t mod g) is merged by the 2×2 stride-2 patch-merging
 * conv into new token ⌊r/2⌋·(g/2) + ⌊c/2⌋.
 */
const merged = (t: number, g: number) => Math.floor(Math.floor(t / g) / 2) * (g / 2) + Math.floor((t % g) / 2);

describe('LaViT residual attention downsampling is aligned with the patch merging', () => {
  for (const laSoftmax of [true, false]) {
    it(`new token i' gets the attention of exactly the old tokens merged into it (laSoftmax ${laSoftmax})`, () => {
      const model = new LaViT({
        imageSize: 16,
        patchSize: 2,
        numClasses: 3,
        dims: [8, 8],
        heads: [2, 2],
        vaDepths: [1, 1],
        laDepths: [1, 0],
        laSoftmax,
        seed: 3,
      });
      // Stage 1's VA layer: Q = K = 0 (a uniform softmax 1/N'), and the residual pooling a plain sum (weights 1,
      // bias 0, γ = 1), so its map minus 1/N' is the pooled last map of stage 0.
      tf.tidy(() => {
        const qkv = model.params.get('stages.1.blocks.0.attn.qkv.weight');
        qkv.assign(tf.zerosLike(qkv));
        const qkvb = model.params.get('stages.1.blocks.0.attn.qkv.bias');
        qkvb.assign(tf.zerosLike(qkvb));
        const w = model.params.get('stages.1.attn_downsample.weight');
        w.assign(tf.onesLike(w));
        const b = model.params.get('stages.1.attn_downsample.bias');
        b.assign(tf.zerosLike(b));
        const gamma = model.params.get('stages.1.attn_downsample.gamma');
        gamma.assign(tf.onesLike(gamma));
      });
      const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const out = model.forward(x, { returnAttention: true });
      const atts = out.attentions!;
      expect(atts).toHaveLength(3);
      const last0 = atts[1]!.arraySync() as number[][][][]; // [B, H, 64, 64], stage 0's LA layer: the map it used
      const first1 = atts[2]!.arraySync() as number[][][][]; // [B, H, 16, 16]
      const g = 8;
      const n1 = 16;
      for (let b = 0; b < 2; b++) {
        for (let h = 0; h < 2; h++) {
          const expected = Array.from({ length: n1 }, () => new Array<number>(n1).fill(1 / n1));
          for (let i = 0; i < g * g; i++) {
            for (let j = 0; j < g * g; j++) expected[merged(i, g)]![merged(j, g)]! += last0[b]![h]![i]![j]!;
          }
          for (let i = 0; i < n1; i++) {
            for (let j = 0; j < n1; j++) {
              const e = expected[i]![j]!;
              expect(Math.abs(first1[b]![h]![i]![j]! - e), `b${b} h${h} (${i}, ${j})`).toBeLessThan(
                1e-5 * Math.max(1, Math.abs(e)),
              );
            }
          }
        }
      }
      tf.dispose([x, out as unknown as tf.TensorContainer]);
      model.dispose();
    });
  }
});
