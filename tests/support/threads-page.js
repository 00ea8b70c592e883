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
  const values = outs.map((t) => Array.from(t.dataSync()));
  tf.dispose([a, b, w, x, f, ...outs]);
  return values;
}

async function main() {
  const result = { crossOriginIsolated: globalThis.crossOriginIsolated === true };
  try {
    await initBackend('wasm', { threads: 2, wasmPaths: '/wasm/' });
    const wasm = (await describeBackends()).find((r) => r.source === 'wasm');
    result.threads = wasm.threads;
    result.threadsReason = wasm.threadsReason ?? null;
    const t0 = performance.now();
    const threaded = await products();
    result.threadedMs = performance.now() - t0;
    await initBackend('wasm', { threads: 1, wasmPaths: '/wasm/' });
    const single = await products();
    let worst = 0;
    for (const [i, v] of threaded.entries()) {
      for (const [j, x] of v.entries()) {
        worst = Math.max(worst, Math.abs(x - single[i][j]) / (Math.abs(single[i][j]) + 1));
      }
    }
    result.sizes = threaded.map((v) => v.length);
    result.worstDifference = worst;
    await disposeThreads();
  } catch (error) {
    result.fatal = String(error?.stack ?? error);
  }
  window.__threads = result;
}

main();
