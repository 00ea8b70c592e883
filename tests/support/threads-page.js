// Runs in headless Chromium (bundled by tests/support/browser-threads.mjs): the wasm backend with threads: 2, and
// the same products on one thread, from the built @distillery/tensor browser bundle. Publishes window.__threads.
import { describeBackends, disposeThreads, initBackend, tf } from '@distillery/tensor';

async function products() {
  const a = tf.randomNormal([4, 130, 96], 0, 1, 'float32', 1);
  const b = tf.randomNormal([4, 96, 70], 0, 1, 'float32', 2);
  const w = tf.randomNormal([96, 300], 0, 1, 'float32', 3);
  const x = tf.randomNormal([2, 20, 20, 8], 0, 1, 'float32', 4);
  const f = tf.randomNormal([3, 3, 8, 16], 0, 1, 'float32', 5);
  const outs = [tf.matMul(a, b), tf.matMul(tf.reshape(a, [520, 96]), w), tf.conv2d(x, f, 1, 'same')];
  // The conv's rounding scale: the same sums over absolute values, Σ|x||f|.
  const scale = tf.conv2d(tf.abs(x), tf.abs(f), 1, 'same');
  const values = outs.map((t) => Array.from(t.dataSync()));
  const convScale = Array.from(scale.dataSync());
  tf.dispose([a, b, w, x, f, scale, ...outs]);
  return { values, convScale };
}

async function main() {
  const result = { crossOriginIsolated: globalThis.crossOriginIsolated === true };
  try {
    await initBackend('wasm', { threads: 2, wasmPaths: '/wasm/' });
    const wasm = (await describeBackends()).find((r) => r.source === 'wasm');
    result.threads = wasm.threads;
    result.threadsReason = wasm.threadsReason ?? null;
    result.detail = wasm.detail ?? null;
    const t0 = performance.now();
    const threaded = await products();
    result.threadedMs = performance.now() - t0;
    await initBackend('wasm', { threads: 1, wasmPaths: '/wasm/' });
    const single = await products();
    // The matMuls run the same kernel on one thread and on the pool: the same bits. The conv is XNNPACK's on one
    // thread and im2col + that kernel on the pool: compared on the scale of its rounding error.
    let matMulDifferences = 0;
    for (const i of [0, 1]) {
      for (const [j, x] of threaded.values[i].entries()) if (x !== single.values[i][j]) matMulDifferences++;
    }
    let convWorst = 0;
    for (const [j, x] of threaded.values[2].entries()) {
      convWorst = Math.max(convWorst, Math.abs(x - single.values[2][j]) / (single.convScale[j] + 1e-30));
    }
    result.sizes = threaded.values.map((v) => v.length);
    result.matMulDifferences = matMulDifferences;
    result.convWorstDifference = convWorst;
    await disposeThreads();
  } catch (error) {
    result.fatal = String(error?.stack ?? error);
  }
  window.__threads = result;
}

main();
