import { assertNoTensorLeak, DistilleryError, serializeSafetensors, tf } from '@distillery/tensor';
import { expectScaledClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { fixtureJson } from '../../test/helpers';
import { stateDictToSafetensors } from '../core/module';
import { loadViTStateDict, loadViTWeights } from './load-vit-weights';
import { resampleAbsPosEmbed, resamplePosEmbedValues } from './pos-embed';
import { VisionTransformer } from './vision-transformer';

interface Case {
  oldSize: [number, number];
  newSize: [number, number];
  numPrefixTokens: number;
  antialias: boolean;
  input: { shape: number[]; values: number[] };
  output: { shape: number[]; values: number[] };
}

const f = fixtureJson<{ cases: Case[] }>('pos_embed_resample.json');

describe('resampleAbsPosEmbed against timm resample_abs_pos_embed (torch F.interpolate bicubic)', () => {
  it.each(
    f.cases.map(
      (c) =>
        [
          `${c.oldSize.join('×')} → ${c.newSize.join('×')}, prefix ${c.numPrefixTokens}, antialias ${c.antialias}`,
          c,
        ] as const,
    ),
  )('%s', (_, c) => {
    const out = resamplePosEmbedValues(c.input.values, c.input.shape, c.newSize, {
      oldSize: c.oldSize,
      numPrefixTokens: c.numPrefixTokens,
      antialias: c.antialias,
    });
    expect(out.length).toBe(c.output.values.length);
    expectScaledClose(out, c.output.values, 1e-5, 'pos_embed');
  });

  it('the tensor form gives the same values, keeps the prefix tokens and frees what it allocates', async () => {
    const c = f.cases.find((k) => k.numPrefixTokens === 2 && k.oldSize[0] === k.oldSize[1])!;
    const x = tf.tensor3d(c.input.values, c.input.shape as [number, number, number]);
    await assertNoTensorLeak(() => {
      const y = resampleAbsPosEmbed(x, c.newSize, { numPrefixTokens: 2, antialias: c.antialias });
      expect(y.shape).toEqual(c.output.shape);
      expectScaledClose(y.dataSync(), c.output.values, 1e-5, 'tensor form');
      expect(Array.from(y.dataSync().subarray(0, 2 * 5))).toEqual(
        Array.from(new Float32Array(c.input.values.slice(0, 10))),
      );
      y.dispose();
    });
    x.dispose();
  });

  it('rejects grids that do not fit', () => {
    expect(() => resamplePosEmbedValues(new Float32Array(11 * 2), [1, 11, 2], [4, 4])).toThrow(
      /posEmbed: expected a square grid/,
    );
    expect(() => resamplePosEmbedValues(new Float32Array(11 * 2), [1, 11, 2], [4, 4], { oldSize: [3, 4] })).toThrow(
      /options.oldSize/,
    );
    expect(() => resamplePosEmbedValues(new Float32Array(10 * 2), [1, 10, 2], [0, 4])).toThrow(/newSize\[0\]/);
    expect(() => resamplePosEmbedValues(new Float32Array(10 * 2), [1, 10, 2], [3, 3], { mode: 'x' } as never)).toThrow(
      /mode: unknown option/,
    );
  });
});

describe('loadViTWeights: a checkpoint trained at another image size', () => {
  const small = { imageSize: 8, patchSize: 2, embedDim: 8, depth: 1, numHeads: 2, numClasses: 3, distilled: true };

  it('refuses a different grid without resamplePosEmbed, naming pos_embed, both grids and the option', async () => {
    const source = new VisionTransformer({ ...small, seed: 1 });
    const target = new VisionTransformer({ ...small, imageSize: 12, seed: 2 });
    try {
      const bytes = source.toSafetensors();
      const error = await loadViTWeights(target, bytes).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DistilleryError);
      expect((error as Error).message).toMatch(
        /^pos_embed: the checkpoint has a 4×4 grid .* the model 6×6 .*resamplePosEmbed: true/,
      );
    } finally {
      source.dispose();
      target.dispose();
    }
  });

  it('resamples pos_embed (DeiT: cls and dist kept) and loads everything else unchanged', async () => {
    const source = new VisionTransformer({ ...small, seed: 1 });
    const target = new VisionTransformer({ ...small, imageSize: 12, seed: 2 });
    try {
      const state = source.stateDict();
      const report = await loadViTWeights(target, serializeSafetensors(stateDictToSafetensors(state)), {
        resamplePosEmbed: true,
      });
      expect(report.resampled).toEqual({ from: [4, 4], to: [6, 6] });
      const expected = resamplePosEmbedValues(state.pos_embed!.data, [1, 18, 8], [6, 6], { numPrefixTokens: 2 });
      expect(Array.from(target.posEmbed.dataSync())).toEqual(Array.from(expected));
      expect(target.params.get('blocks.0.attn.qkv.weight').dataSync()).toEqual(
        source.params.get('blocks.0.attn.qkv.weight').dataSync(),
      );
      // Plain bicubic differs from the antialiased default when downsampling.
      const back = new VisionTransformer({ ...small, imageSize: 6, seed: 3 });
      loadViTStateDict(back, target.stateDict(), { resamplePosEmbed: true, antialias: false });
      const aa = resamplePosEmbedValues(target.posEmbed.dataSync(), [1, 38, 8], [3, 3], { numPrefixTokens: 2 });
      expect(Array.from(back.posEmbed.dataSync())).not.toEqual(Array.from(aa));
      back.dispose();
      const x = tf.randomUniform([1, 12, 12, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const out = target.forward(x);
      expect(Array.from(out.logits.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, ...Object.values(out).filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
    } finally {
      source.dispose();
      target.dispose();
    }
  });

  it('a different embedding width cannot be resampled; bad options are named', async () => {
    const source = new VisionTransformer({ ...small, embedDim: 4, seed: 1 });
    const target = new VisionTransformer({ ...small, imageSize: 12, seed: 2 });
    try {
      expect(() => loadViTStateDict(target, source.stateDict(), { resamplePosEmbed: true })).toThrow(
        /pos_embed: .*embedding width differs/,
      );
      await expect(loadViTWeights(target, source.stateDict(), { resample: true } as never)).rejects.toThrow(
        /resample: unknown option/,
      );
      await expect(loadViTWeights(target, 42 as never)).rejects.toThrow(/source: expected/);
    } finally {
      source.dispose();
      target.dispose();
    }
  });
});
