/**
 * The source of a pool worker, as a string: it runs through `new Worker(source, { eval: true })` in Node and a
 * Blob URL in browsers, so no separate worker file has to be emitted by the build, shipped, and found again next to
 * the ESM, CJS or browser bundle (or by a user's bundler). It imports nothing.
 *
 * A worker instantiates the kernel module over the pool's one shared `WebAssembly.Memory` and then waits on its slot
 * of the control array (`Atomics.wait`): the caller writes up to MAX_CALLS kernel calls into the slot and sets the
 * slot's state to RUN; the worker runs them, sets it back to IDLE (or FAILED with the message in its slot) and
 * notifies. QUIT ends the loop. Slot layout (Int32): [state, callCount, call 0 (function index + 10 i32 arguments),
 * call 1, …].
 */

export const STATE = { IDLE: 0, RUN: 1, QUIT: 2, FAILED: 3 } as const;
/** Kernel calls one slot can carry (a range of row blocks crossing batch boundaries needs at most 3). */
export const MAX_CALLS = 4;
/** Int32 arguments per call (function index + up to 10 kernel arguments). */
export const CALL_INTS = 11;
export const SLOT_INTS = 2 + MAX_CALLS * CALL_INTS;
/** Functions the module exports, by the index a call names. */
export const KERNEL_FUNCTIONS = ['matmul'] as const;

const loop = `
function serve(module, memory, control, index, ready) {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = ${JSON.stringify(KERNEL_FUNCTIONS)}.map((name) => instance.exports[name]);
  const ctrl = new Int32Array(control);
  const base = index * ${SLOT_INTS};
  ready();
  for (;;) {
    Atomics.wait(ctrl, base, ${STATE.IDLE});
    const state = Atomics.load(ctrl, base);
    if (state === ${STATE.QUIT}) return;
    if (state !== ${STATE.RUN}) continue;
    let next = ${STATE.IDLE};
    try {
      const calls = ctrl[base + 1];
      for (let c = 0; c < calls; c++) {
        const p = base + 2 + c * ${CALL_INTS};
        fns[ctrl[p]](ctrl[p + 1], ctrl[p + 2], ctrl[p + 3], ctrl[p + 4], ctrl[p + 5], ctrl[p + 6], ctrl[p + 7],
          ctrl[p + 8], ctrl[p + 9], ctrl[p + 10]);
      }
    } catch (error) {
      next = ${STATE.FAILED};
      try { console.error('@distillery/tensor thread ' + (index + 1) + ': ' + (error && error.message)); } catch {}
    }
    Atomics.store(ctrl, base, next);
    Atomics.notify(ctrl, base);
  }
}
`;

/** Node (`worker_threads`, eval mode): the start-up data comes as `workerData`. */
export const NODE_WORKER_SOURCE = `${loop}
const { workerData, parentPort } = require('node:worker_threads');
serve(workerData.module, workerData.memory, workerData.control, workerData.index, () => parentPort.postMessage('ready'));
`;

/** Browsers (a classic Web Worker from a Blob URL): the start-up data comes as the first message. */
export const BROWSER_WORKER_SOURCE = `${loop}
self.onmessage = (event) => {
  self.onmessage = null;
  const d = event.data;
  serve(d.module, d.memory, d.control, d.index, () => self.postMessage('ready'));
};
`;
