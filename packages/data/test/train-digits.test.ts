// End to end: the shipped digits, a class-balanced sampler, seeded augmentation and @distillery/train's loop and
// metrics train a softmax classifier to high held-out accuracy.
import { classBalancedSampler } from '@distillery/samplers';
import { createRng, randomNormal, tf } from '@distillery/tensor';
import { AdamW, accuracy, balancedAccuracy, cosineAnnealingLR, fit } from '@distillery/train';
import { expect, it } from 'vitest';
import { colorJitter } from '../src/augment/basic';
import { loadDigits } from '../src/digits/load-digits';

it('trains a softmax classifier on the digits to > 90% held-out accuracy', async () => {
  const digits = loadDigits();
  const order = createRng(0).permutation(digits.length);
  const train = digits.subset(order.subarray(0, 1400));
  const test = digits.subset(order.subarray(1400));
  const params = [
    tf.variable(randomNormal([64, 10], createRng(1), { std: 0.01 }), true, `digitsW_${Date.now()}`),
    tf.variable(tf.zeros([10]), true, `digitsB_${Date.now()}`),
  ];
  const logits = (images: tf.Tensor4D) => tf.add(tf.matMul(tf.reshape(images, [-1, 64]), params[0]!), params[1]!);
  const { history } = await fit({
    params,
    data: train,
    sampler: classBalancedSampler(train.labels(), { seed: 2 }),
    batchSize: 100,
    epochs: 12,
    optimizer: new AdamW(params, { lr: 0.1, weightDecay: 1e-4 }),
    schedule: cosineAnnealingLR(0.1, { tMax: 12 }),
    seed: 3,
    progress: 'none',
    loss: (batch, ctx) => {
      // augmentation inside the loss closure is recomputed from ctx.rng: a resumed run replays it exactly
      const x = colorJitter(batch.images, ctx.rng, { brightness: 0.2, contrast: 0.2, saturation: 0 });
      const y = tf.oneHot(batch.labels, 10);
      return tf.losses.softmaxCrossEntropy(y, logits(x)) as tf.Scalar;
    },
    evaluate: () => {
      const { images, labels } = test.batch(Int32Array.from({ length: test.length }, (_, i) => i));
      const pred = tf.tidy(() => tf.argMax(logits(images), 1));
      const result = {
        acc: accuracy(labels, pred),
        balancedAcc: balancedAccuracy(labels, pred, 10),
      };
      tf.dispose([images, labels, pred]);
      return result;
    },
  });
  expect(history[11]!.loss).toBeLessThan(history[0]!.loss);
  expect(history[11]!.acc).toBeGreaterThan(0.9);
  expect(history[11]!.balancedAcc).toBeGreaterThan(0.9);
  tf.dispose(params);
});
