/**
 * The source of a pool worker, as a string: it runs through `new Worker(source, { eval: true })` in Node and a
 * Blob URL in browsers, so no separate worker file has to be emitted by the build, shipped, and found again next to
 * the ESM, CJS or browser bundle (or by a user's bundler). It imports nothing.
 *
 * Work is handed out dynamically, so that one descheduled thread (a busy machine) does not stall the whole op: the
 * caller writes the op's chunks (each up to MAX_CALLS kernel calls) into the chunk table, sets the claim counter to
 * 0 and wakes the workers by setting their slots to RUN. A woken worker first takes its slot RUN → BUSY (a
 * compare-exchange: the caller revokes a wake-up that no worker took up by then, so a thread that never got a core
 * cannot hold the op), then claims chunks with `Atomics.add` on the counter until none remain, runs each, and sets
 * its slot back to IDLE (or FAILED) and notifies. The caller claims chunks the same way. Each chunk writes its own
 * outputs only, computed exactly as on one thread, so the result does not depend on which thread ran which chunk.
 * QUIT ends the loop.
 *
 * Control array (Int32): the header (claim counter, chunk count, an always-zero word to sleep on, the caller's
 * test-hook pair), one slot per
 * worker (state, test-hook delay in ms, and where the delay applies: 0 before taking up a wake-up, 1 after claiming
 * the first chunk), the chunk table (per chunk: its call count, then its calls, each a function index + 10 i32
 * arguments), then per chunk the thread that ran it (0 the caller, i worker i).
 */

export const STATE = { IDLE: 0, RUN: 1, QUIT: 2, FAILED: 3, BUSY: 4 } as const;
/** Kernel calls one chunk can carry (a range of row blocks crossing batch boundaries needs at most 3). */
export const MAX_CALLS = 4;
/** Int32 arguments per call (function index + up to 10 kernel arguments). */
export const CALL_INTS = 11;
/** Most chunks one op can be split into. */
export const MAX_CHUNKS = 512;
/** Header: the claim counter, the chunk count, a word that stays 0 (the test hook sleeps on it). */
export const COUNTER = 0;
export const CHUNK_COUNT = 1;
export const SLEEP_WORD = 2;
/** The calling thread's test-hook pair (delay ms, where), like a worker slot's words 1 and 2. */
export const CALLER_HOOK = 3;
/** Slots start on their own 64-byte line, away from the counter the threads hammer. */
export const HEADER_INTS = 16;
export const SLOT_INTS = 16;
export const CHUNK_INTS = 1 + MAX_CALLS * CALL_INTS;
/** Int32 offsets of the chunk table and the ran-by array, for `workers` workers. */
export const layout = (workers: number) => {
  const table = HEADER_INTS + SLOT_INTS * Math.max(1, workers);
  const ranBy = table + MAX_CHUNKS * CHUNK_INTS;
  return { table, ranBy, ints: ranBy + MAX_CHUNKS };
};
/** Functions the module exports, by the index a call names. */
export const KERNEL_FUNCTIONS = ['matmul', 'matmulMulAdd'] as const;

/**
 * Claims and runs chunks until none remain (the caller's side; the workers run the same loop from `loop` below).
 * `hook` is the index of the thread's test-hook pair (delay ms, where), or -1 for none.
 */
export function drainChunks(
  ctrl: Int32Array,
  fns: readonly ((...args: number[]) => void)[],
  table: number,
  ranBy: number,
  thread: number,
  hook: number,
): void {
  const count = ctrl[CHUNK_COUNT] as number;
  let first = true;
  for (;;) {
    const i = Atomics.add(ctrl, COUNTER, 1);
    if (i >= count) return;
    if (first && hook >= 0 && (ctrl[hook] as number) > 0 && ctrl[hook + 1] === 1) {
      Atomics.wait(ctrl, SLEEP_WORD, 0, ctrl[hook] as number);
    }
    first = false;
    const at = table + i * CHUNK_INTS;
    const calls = ctrl[at] as number;
    for (let c = 0; c < calls; c++) {
      const p = at + 1 + c * CALL_INTS;
      (fns[ctrl[p] as number] as (...args: number[]) => void)(
        ctrl[p + 1] as number,
        ctrl[p + 2] as number,
        ctrl[p + 3] as number,
        ctrl[p + 4] as number,
        ctrl[p + 5] as number,
        ctrl[p + 6] as number,
        ctrl[p + 7] as number,
        ctrl[p + 8] as number,
        ctrl[p + 9] as number,
        ctrl[p + 10] as number,
      );
    }
    ctrl[ranBy + i] = thread;
  }
}

// The worker's twin of drainChunks (kept as source: the worker imports nothing).
const loop = `
function drainChunks(ctrl, fns, table, ranBy, thread, hook) {
  const count = ctrl[${CHUNK_COUNT}];
  let first = true;
  for (;;) {
    const i = Atomics.add(ctrl, ${COUNTER}, 1);
    if (i >= count) return;
    if (first && ctrl[hook] > 0 && ctrl[hook + 1] === 1) Atomics.wait(ctrl, ${SLEEP_WORD}, 0, ctrl[hook]);
    first = false;
    const at = table + i * ${CHUNK_INTS};
    const calls = ctrl[at];
    for (let c = 0; c < calls; c++) {
      const p = at + 1 + c * ${CALL_INTS};
      fns[ctrl[p]](ctrl[p + 1], ctrl[p + 2], ctrl[p + 3], ctrl[p + 4], ctrl[p + 5], ctrl[p + 6], ctrl[p + 7],
        ctrl[p + 8], ctrl[p + 9], ctrl[p + 10]);
    }
    ctrl[ranBy + i] = thread;
  }
}
function serve(module, memory, control, index, workers, ready) {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = ${JSON.stringify(KERNEL_FUNCTIONS)}.map((name) => instance.exports[name]);
  const ctrl = new Int32Array(control);
  const base = ${HEADER_INTS} + index * ${SLOT_INTS};
  const table = ${HEADER_INTS} + ${SLOT_INTS} * Math.max(1, workers);
  const ranBy = table + ${MAX_CHUNKS * CHUNK_INTS};
  ready();
  for (;;) {
    Atomics.wait(ctrl, base, ${STATE.IDLE});
    const state = Atomics.load(ctrl, base);
    if (state === ${STATE.QUIT}) return;
    if (state !== ${STATE.RUN}) continue;
    if (ctrl[base + 1] > 0 && ctrl[base + 2] === 0) Atomics.wait(ctrl, ${SLEEP_WORD}, 0, ctrl[base + 1]);
    // Revoked by the caller (every chunk was taken before this thread got a core): wait for the next op.
    if (Atomics.compareExchange(ctrl, base, ${STATE.RUN}, ${STATE.BUSY}) !== ${STATE.RUN}) continue;
    let next = ${STATE.IDLE};
    try {
      drainChunks(ctrl, fns, table, ranBy, index + 1, base + 1);
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
serve(workerData.module, workerData.memory, workerData.control, workerData.index, workerData.workers,
  () => parentPort.postMessage('ready'));
`;

/** Browsers (a classic Web Worker from a Blob URL): the start-up data comes as the first message. */
export const BROWSER_WORKER_SOURCE = `${loop}
self.onmessage = (event) => {
  self.onmessage = null;
  const d = event.data;
  serve(d.module, d.memory, d.control, d.index, d.workers, () => self.postMessage('ready'));
};
`;
