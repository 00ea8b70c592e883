import { type BackendPreference, describeBackends, initBackend, Rng, randomNormal, tf } from '@distillery/tensor';
import { formatTable } from '../table';

async function medianMs(fn: () => Promise<void>, repeats = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/**
 * `distillery bench`: a quick measure of this machine on each available backend — matMul 512, an MLP training step,
 * and a distillation-sized softmax/KL forward+backward (N=256, C=1000). The repository's `pnpm bench` has the full
 * benchmarks beside PyTorch.
 */
export async function benchCommand(print: (line: string) => void, only?: string): Promise<number> {
  const reports = await describeBackends();
  const candidates = reports.filter((r) => r.available).map((r) => r.source);
  const backends = only
    ? candidates.filter((c) => c === only || reports.find((r) => r.source === c)?.backend === only)
    : candidates;
  if (only && backends.length === 0) {
    print(`backend ${only} is not available here (see distillery backends)`);
    return 1;
  }
  const rows: (string | number)[][] = [];
  for (const source of backends) {
    const name = await initBackend(source as BackendPreference);
    const rng = new Rng(0);
    const a = randomNormal([512, 512], rng);
    const matmul = await medianMs(async () => {
      const c = tf.matMul(a, a);
      await c.data();
      c.dispose();
    });
    const w = tf.variable(randomNormal([784, 256], rng, { std: 0.05 }));
    const v = tf.variable(randomNormal([256, 10], rng, { std: 0.05 }));
    const x = randomNormal([128, 784], rng);
    const y = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 128 }, () => rng.int(10)),
        'int32',
      ),
      10,
    );
    const sgd = tf.train.sgd(0.01);
    const mlp = await medianMs(async () => {
      const loss = sgd.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.matMul(x, w)), v)), true, [
        w,
        v,
      ]);
      await loss?.data();
      loss?.dispose();
    });
    const s = randomNormal([256, 1000], rng);
    const t = tf.softmax(tf.div(randomNormal([256, 1000], rng), 4));
    const kd = await medianMs(async () => {
      const g = tf.grad((z: tf.Tensor) =>
        tf.mul(tf.sum(tf.mul(t, tf.sub(tf.log(tf.add(t, 1e-12)), tf.logSoftmax(tf.div(z, 4))))), 16 / 256),
      )(s);
      await g.data();
      g.dispose();
    });
    tf.dispose([a, w, v, x, y, s, t]);
    sgd.dispose();
    rows.push([
      `${source} (${name})`,
      Number(matmul.toFixed(2)),
      Number(((2 * 512 ** 3) / (matmul * 1e6)).toFixed(1)),
      Number(mlp.toFixed(2)),
      Number(kd.toFixed(2)),
    ]);
  }
  print(formatTable(['backend', 'matMul 512 ms', 'GFLOP/s', 'MLP step ms', 'KD fwd+bwd ms'], rows));
  return 0;
}
