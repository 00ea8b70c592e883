// matMul 512 and one training step of a small MLP (784-256-10, batch 128, SGD) per backend, beside PyTorch on this
// machine (one thread), in one run.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, Rng, randomNormal, tf } from '@distillery/tensor';
import { fmt, ratio, runPython, table, timeMs } from '../../../scripts/bench-utils.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const backends = (process.env.DISTILLERY_BENCH_BACKENDS ?? 'wasm,cpu').split(',');

async function benchBackend(backend) {
  await initBackend(backend);
  const rng = new Rng(0);
  const a = randomNormal([512, 512], rng);
  const b = randomNormal([512, 512], rng);
  const matmul = await timeMs(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  });

  const w1 = tf.variable(randomNormal([784, 256], rng, { std: 0.05 }));
  const b1 = tf.variable(tf.zeros([256]));
  const w2 = tf.variable(randomNormal([256, 10], rng, { std: 0.05 }));
  const b2 = tf.variable(tf.zeros([10]));
  const x = randomNormal([128, 784], rng);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 128 }, () => rng.int(10)),
      'int32',
    ),
    10,
  );
  const optimizer = tf.train.sgd(0.01);
  const step = await timeMs(async () => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)),
      true,
      [w1, b1, w2, b2],
    );
    await loss.data();
    loss.dispose();
  });
  tf.dispose([a, b, w1, b1, w2, b2, x, y]);
  optimizer.dispose();
  return { matmul, step, gflops: (2 * 512 ** 3) / (matmul * 1e6) };
}

const results = {};
for (const backend of backends) results[backend] = await benchBackend(backend);
const torch = runPython(path.join(here, '../../../tools/bench/tensor.py'));

const rows = [];
for (const [op, key] of [
  ['matMul 512×512', 'matmul'],
  ['MLP 784-256-10 train step, batch 128', 'step'],
]) {
  for (const backend of backends) {
    rows.push([op, backend, fmt(results[backend][key]), fmt(torch[key]), ratio(results[backend][key], torch[key])]);
  }
}
console.log(table(['op', 'backend', 'ms (tfjs)', 'ms (PyTorch 1 thread)', 'ratio'], rows));
for (const backend of backends)
  console.log(`\n${backend}: matMul 512 at ${results[backend].gflops.toFixed(1)} GFLOP/s`);
if (torch.error) console.log(`\nPyTorch reference unavailable: ${torch.error}`);
else
  console.log(`PyTorch ${torch.version}: matMul 512 at ${((2 * 512 ** 3) / (torch.matmul * 1e6)).toFixed(1)} GFLOP/s`);
