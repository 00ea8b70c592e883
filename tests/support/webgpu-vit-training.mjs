// A ViT training step on WebGPU in plain Node (Dawn + SwiftShader): forward, loss, gradients, Adam step, a few times
// on a fixed batch. Reads are asynchronous (WebGPU's synchronous read needs OffscreenCanvas, which Node lacks).
// Prints { backend, losses, tensorsPerStep } as JSON on the last line.
import { initBackend, Rng, randomNormal, tf } from '@distillery/tensor';
import { VisionTransformer } from '@distillery/vit';

const backend = await initBackend(process.argv[2] ?? 'webgpu');
const rng = new Rng(0);
const model = new VisionTransformer({
  imageSize: 8,
  patchSize: 4,
  inChannels: 1,
  numClasses: 4,
  embedDim: 16,
  depth: 2,
  numHeads: 2,
  distilled: true,
  seed: 0,
});
const images = randomNormal([8, 8, 8, 1], rng);
const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
const optimizer = tf.train.adam(3e-3);
const variables = model.trainableVariables();
const losses = [];
const counts = [];
for (let step = 0; step < 6; step++) {
  const loss = optimizer.minimize(
    () => {
      const out = model.forward(images, { training: true });
      return tf.add(
        tf.losses.softmaxCrossEntropy(labels, out.clsLogits),
        tf.losses.softmaxCrossEntropy(labels, out.distLogits),
      );
    },
    true,
    variables,
  );
  losses.push((await loss.data())[0]);
  loss.dispose();
  counts.push(tf.memory().numTensors);
}
console.log(JSON.stringify({ backend, losses, tensorsPerStep: counts.slice(1).map((c, i) => c - counts[i]) }));
process.exit(0);
