/**
 * Robustness sweep for LaViT (issue 13): bad inputs to every public LaViT function must give a DistilleryError that
 * names the argument. One `it` per function, several bad inputs each.
 */
import { createRng, tf } from '@distillery/tensor';
import { expectDistilleryError } from '@distillery/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagonalityPreservingLoss, LaViT, type LaViTConfig } from '../src/lavit/lavit';

const tiny: LaViTConfig = {
  imageSize: 8,
  patchSize: 2,
  numClasses: 3,
  dims: [8, 8],
  heads: [2, 2],
  vaDepths: [1, 1],
  laDepths: [1, 0],
};

/** `fn` throws a DistilleryError naming `argument`, with a message matching `message`. */
const expectRejected = (fn: () => unknown, argument: string, message?: RegExp) =>
  expectDistilleryError(fn, argument, { message });

describe('LaViT robustness', () => {
  it('new LaViT(config): bad configs are named errors', () => {
    const bad = (patch: Record<string, unknown>) => () => new LaViT({ ...tiny, ...patch } as LaViTConfig);
    expectRejected(() => new LaViT(undefined as unknown as LaViTConfig), 'config');
    expectRejected(() => new LaViT(null as unknown as LaViTConfig), 'config', /options object/);
    expectRejected(bad({ head: [2, 2] }), 'config.head', /unknown option \(did you mean "heads"\?\)/);
    expectRejected(
      bad({ heads: [2] }),
      'config.heads',
      /expected an array of 2 entries .*got an array of 1 entry \(\[2\]\)/,
    );
    expectRejected(bad({ heads: '2,2' }), 'config.heads', /got "2,2"/);
    expectRejected(bad({ dims: [] }), 'config.dims');
    expectRejected(bad({ dims: [8, -8] }), 'config.dims[1]');
    expectRejected(bad({ heads: [2, 0] }), 'config.heads[1]');
    expectRejected(bad({ heads: [3, 2] }), 'config.heads[0]', /divisor of dims\[0\] = 8/);
    expectRejected(bad({ laDepths: [1.5, 0] }), 'config.laDepths[0]');
    expectRejected(bad({ vaDepths: [0, 1] }), 'config.vaDepths[0]');
    expectRejected(bad({ vaDepths: [1, 1, 1] }), 'config.vaDepths', /2 entries/);
    expectRejected(bad({ mlpRatio: 0 }), 'config.mlpRatio');
    expectRejected(bad({ dropPathRate: 1 }), 'config.dropPathRate');
    expectRejected(bad({ dropPathRate: Number.NaN }), 'config.dropPathRate');
    expectRejected(bad({ eps: 0 }), 'config.eps');
    expectRejected(bad({ laSoftmax: 'yes' }), 'config.laSoftmax', /boolean/);
    expectRejected(bad({ layerScaleInit: Number.POSITIVE_INFINITY }), 'config.layerScaleInit');
    expectRejected(bad({ patchSize: 3 }), 'config.patchSize');
    expectRejected(
      bad({ imageSize: 12, dims: [8, 8, 8], heads: [2, 2, 2], vaDepths: [1, 1, 1], laDepths: [1, 1, 1] }),
      'config.imageSize',
    );
    expectRejected(bad({ inChannels: 0 }), 'config.inChannels');
    expectRejected(bad({ numClasses: -1 }), 'config.numClasses');
    expectRejected(bad({ seed: Number.NaN }), 'config.seed');
  });

  describe('LaViT.forward', () => {
    let model: LaViT;
    let x: tf.Tensor4D;
    beforeAll(() => {
      model = new LaViT(tiny);
      x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    });
    afterAll(() => {
      model.dispose();
      x.dispose();
    });

    it('model.forward(images, options): bad images and options are named errors', () => {
      expectRejected(
        () => model.forward(x, { returnAttentions: true } as never),
        'options.returnAttentions',
        /did you mean "returnAttention"/,
      );
      expectRejected(() => model.forward(x, 5 as never), 'options', /options object/);
      expectRejected(() => model.forward(x, { training: 'yes' } as never), 'options.training', /boolean/);
      expectRejected(() => model.forward(x, { returnAttention: 1 } as never), 'options.returnAttention', /boolean/);
      expectRejected(() => model.forward(x, { rng: {} } as never), 'options.rng');
      const rank3 = tf.zeros([8, 8, 3]);
      expectRejected(() => model.forward(rank3 as never), 'images', /rank-4/);
      const gray = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
      expectRejected(() => model.forward(gray), 'images', /3 channels/);
      const big = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
      expectRejected(() => model.forward(big), 'images', /N = 16 tokens/);
      expectRejected(() => model.forward([[1]] as never), 'images');
      // a valid call still works after the refusals (and with an explicit rng)
      const out = model.forward(x, { training: true, rng: createRng(1) });
      expect(out.logits.shape).toEqual([1, 3]);
      tf.dispose([rank3, gray, big, out as unknown as tf.TensorContainer]);
    });
  });

  it('diagonalityPreservingLoss(maps, options): bad maps and options are named errors', () => {
    const ok = tf.zeros([1, 1, 3, 3]);
    const square23 = tf.zeros([1, 1, 2, 3]);
    const rank3 = tf.zeros([1, 3, 3]);
    const empty = tf.zeros([1, 1, 0, 0]);
    expectRejected(() => diagonalityPreservingLoss([]), 'maps', /at least one/);
    expectRejected(() => diagonalityPreservingLoss(square23), 'maps[0]', /square/);
    expectRejected(() => diagonalityPreservingLoss(rank3), 'maps[0]', /rank-4/);
    expectRejected(() => diagonalityPreservingLoss(empty), 'maps[0]', /non-empty/);
    expectRejected(() => diagonalityPreservingLoss([ok, 'x' as never]), 'maps[1]');
    expectRejected(
      () => diagonalityPreservingLoss(ok, { diagonalSign: 0 as never }),
      'options.diagonalSign',
      /one of 1, -1/,
    );
    expectRejected(() => diagonalityPreservingLoss(ok, { diagonalSign: '1' as never }), 'options.diagonalSign');
    expectRejected(
      () => diagonalityPreservingLoss(ok, { diagonalsign: -1 } as never),
      'options.diagonalsign',
      /did you mean "diagonalSign"/,
    );
    expectRejected(() => diagonalityPreservingLoss(ok, 'x' as never), 'options', /options object/);
    tf.dispose([ok, square23, rank3, empty]);
  });
});
