// Runs in headless Chromium (bundled by tests/support/browser-threads.mjs): the wasm backend with threads: 2, and
// the same products on one thread, from the built @distillery/tensor browser bundle. Publishes window.__threads.
import { describeBackends, disposeThreads, initBackend, tf } from '@distillery/tensor';

// Sized to reach the pool at its default thresholds (at least 2 MFLOP and 20 flops per byte; a conv of 64 output
// channels or more).
async function products() {
  const a = tf.randomNormal([4, 128, 256], 0, 1, 'float32', 1);
  const b = tf.randomNormal([4, 256, 128], 0, 1, 'float32', 2);
  const w = tf.randomNormal([256, 300], 0, 1, 'float32', 3);
  const x = tf.randomNormal([2, 20, 20, 8], 0, 1, 'float32', 4);
  const f = tf.randomNormal([3, 3, 8, 64], 0, 1, 'float32', 5);
  const outs = [tf.matMul(a, b), tf.matMul(tf.reshape(a, [512, 256]), w), tf.conv2d(x, f, 1, 'same')];
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
    result.detail = wasm.detail ?? null;
    const t0 = performance.now();
    const threaded = await products();
    result.threadedMs = performance.now() - t0;
    await initBackend('wasm', { threads: 1, wasmPaths: '/wasm/' });
    const single = await products();
    // The matMuls run the same kernel function on one thread and on the pool, the conv XNNPACK's on one thread and
    // im2col + the kernel's mul + add function on the pool: the same sums in the same order, so the same bits.
    let differences = 0;
    for (const [i, v] of threaded.entries()) for (const [j, x] of v.entries()) if (x !== single[i][j]) differences++;
    result.sizes = threaded.map((v) => v.length);
    result.differences = differences;
    await disposeThreads();
  } catch (error) {
    result.fatal = String(error?.stack ?? error);
  }
  window.__threads = result;
}

main();
