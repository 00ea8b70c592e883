// The wasm thread pool from the BUILT @distillery/tensor (dist/index.js and dist/index.cjs) in plain Node: a script
// that trains on two threads and never calls disposeThreads() must exit by itself (the workers are unref'd), and the
// worker code must start from the bundle (it is an eval'd source string, so no worker file has to be found next to
// the ESM or CJS build). Build first: pnpm --filter @distillery/tensor build.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'packages/tensor/dist');
const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-threads-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A few SGD steps of a small conv + dense model on wasm; prints the thread report, the losses and a checksum. */
const body = (threads: number) => `
  const name = await initBackend('wasm', { threads: ${threads} });
  const report = (await describeBackends()).find((r) => r.source === 'wasm');
  const x = tf.randomNormal([16, 16, 16, 8], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([...Array(16).keys()].map((i) => i % 10), 'int32'), 10);
  const f = tf.variable(tf.randomNormal([3, 3, 8, 32], 0, 0.1, 'float32', 2));
  const w = tf.variable(tf.randomNormal([16 * 16 * 32, 10], 0, 0.01, 'float32', 3));
  const opt = tf.train.sgd(0.1);
  const losses = [];
  for (let i = 0; i < 3; i++) {
    const loss = opt.minimize(() => {
      const h = tf.relu(tf.conv2d(x, f, 1, 'same'));
      return tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.reshape(h, [16, -1]), w));
    }, true);
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  const sum = tf.sum(tf.abs(w)).dataSync()[0];
  console.log(JSON.stringify({ name, threads: report.threads, reason: report.threadsReason ?? null, losses, sum }));
`;

async function node(file: string, source: string, threads: number) {
  const script = path.join(work, file);
  writeFileSync(script, source);
  const t0 = Date.now();
  // No disposeThreads(): the process must end on its own, well within the timeout.
  const { stdout } = await run(process.execPath, [script], {
    timeout: 120_000,
    env: { ...process.env, DISTILLERY_THREADS: '' },
  });
  return { ...JSON.parse(stdout.trim().split('\n').at(-1) as string), seconds: (Date.now() - t0) / 1000, threads };
}

describe('wasm threads from the built package in plain Node', () => {
  it('ESM and CJS train on 2 threads, equal the 1-thread run, and exit by themselves', async () => {
    const esm = (threads: number) =>
      `import { initBackend, describeBackends, tf } from ${JSON.stringify(path.join(dist, 'index.js'))};\n${body(threads)}`;
    const cjs = (threads: number) =>
      `const { initBackend, describeBackends, tf } = require(${JSON.stringify(path.join(dist, 'index.cjs'))});\n(async () => {${body(threads)}})();`;
    const results = [
      await node('one.mjs', esm(1), 1),
      await node('two.mjs', esm(2), 2),
      await node('two.cjs', cjs(2), 2),
    ];
    for (const r of results) {
      expect(r.name).toBe('wasm');
      expect(r.reason).toBeNull();
      expect(r.losses).toHaveLength(3);
      expect(r.seconds).toBeLessThan(100);
    }
    expect(results.map((r) => r.threads)).toEqual([1, 2, 2]);
    // The conv and both matMuls of this model are above the threading threshold: same numbers on 2 threads.
    expect(results[1].losses).toEqual(results[0].losses);
    expect(results[1].sum).toBe(results[0].sum);
    expect(results[2].sum).toBe(results[0].sum);
  }, 300_000);
});
