// Trains one recipe off the main thread (started by main.js as a module worker). The wasm thread pool blocks in
// Atomics.wait, which a page's main thread may not do; here it may, and the page stays responsive while the recipe
// runs. Messages to the page: {type: 'backend'}, {type: 'line'}, {type: 'epoch'}, then {type: 'done'} (report table
// and curves, the weights with their ArrayBuffers transferred) or {type: 'error'}. Cancel = terminate this worker.
// A message of kind 'distill' ("distill your own", distill-own-worker.js) ends with {type: 'distilled'} instead.
import { initBackend, tf, threadsState } from '@distillery/tensor';
import { plainRecord, recipeContext } from './context.js';
import { distillOwn } from './distill-own-worker.js';
import { forbidSyncGpuReads } from './gpu-guard.js';
import { NOT_ISOLATED } from './not-isolated.js';
import { recipes } from './recipes.js';

const post = (message, transfer = []) => self.postMessage(message, transfer);

self.addEventListener('message', async ({ data }) => {
  const { recipe: name, backend: choice, seed, smoke, wasmPaths } = data;
  try {
    const recipe = data.kind === 'distill' ? null : recipes.find((r) => r.name === name);
    if (data.kind !== 'distill' && !recipe) throw new Error(`no recipe named '${name}'`);
    const isolated = self.crossOriginIsolated === true;
    // All cores where the page is cross-origin isolated; one thread (and the reason) elsewhere.
    const threads = isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
    const backend = await initBackend(choice, choice === 'wasm' ? { wasmPaths, threads } : { wasmPaths });
    if (backend === 'webgpu') forbidSyncGpuReads();
    const state = threadsState();
    const running = backend === 'wasm' ? state.threads : 1;
    const reason = backend !== 'wasm' ? null : isolated ? (state.reason ?? null) : NOT_ISOLATED;
    post({ type: 'backend', backend, isolated, threads: running, requested: threads, reason });
    if (data.kind === 'distill') {
      await distillOwn(data, post);
      return;
    }
    const ctx = recipeContext({
      backend,
      seed,
      smoke,
      line: (text) => post({ type: 'line', text }),
      epoch: (run, record) => post({ type: 'epoch', run, record: plainRecord(record) }),
    });
    const result = await recipe.run(ctx);
    // Each weights file in its own ArrayBuffer (copied when it is a view into a larger one), moved to the page.
    const weights = {};
    for (const [key, bytes] of Object.entries(result.weights ?? {})) {
      weights[key] =
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
    }
    const report = result.report
      ? { table: plainRecord(result.report.table ?? null), curves: plainRecord(result.report.curves ?? null) }
      : null;
    post(
      { type: 'done', report, weights, tensors: tf.memory().numTensors },
      Object.values(weights).map((w) => w.buffer),
    );
  } catch (error) {
    post({ type: 'error', message: error?.message ?? String(error), stack: error?.stack ?? String(error) });
  }
});
