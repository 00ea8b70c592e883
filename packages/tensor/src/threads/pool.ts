import { importOptional, isNode } from '../backends/optional-import';
import { simdMatMulPoolModuleBytes } from '../kernels/wasm-simd/simd-matmul';
import {
  BROWSER_WORKER_SOURCE,
  CALL_INTS,
  CALLER_HOOK,
  CHUNK_COUNT,
  CHUNK_INTS,
  COUNTER,
  drainChunks,
  HEADER_INTS,
  KERNEL_FUNCTIONS,
  layout,
  MAX_CALLS,
  MAX_CHUNKS,
  NODE_WORKER_SOURCE,
  SLEEP_WORD,
  SLOT_INTS,
  STATE,
} from './worker-source';

const PAGE = 65536;
/** The shared memory's ceiling: 2 GiB (problems that need more stay on one thread). */
export const MAX_PAGES = 32768;

/** One kernel call: the index of the function in KERNEL_FUNCTIONS and its (up to 10) i32 arguments. */
export type KernelCall = readonly number[];
/** A unit of work handed to whichever thread claims it: up to MAX_CALLS kernel calls, run in order. */
export type Chunk = readonly KernelCall[];
export { MAX_CHUNKS } from './worker-source';

/** Test hook: make a thread sleep `ms` before taking up a wake-up ('start') or after claiming its first chunk. */
export interface ThreadDelay {
  /** 0 the calling thread, i worker i. */
  thread: number;
  ms: number;
  where: 'start' | 'first-chunk';
}

export interface ThreadPool {
  /** Threads that compute, the calling one included. */
  readonly threads: number;
  /** The one shared memory every thread's kernel instance uses. */
  readonly memory: WebAssembly.Memory;
  /** The kernels, instantiated on the calling thread over the shared memory. */
  readonly kernels: Record<(typeof KERNEL_FUNCTIONS)[number], (...args: number[]) => void>;
  /** A float32 view of the shared memory, grown first to at least `bytes` (false: it cannot grow that far). */
  reserve(bytes: number): Float32Array | false;
  /**
   * Runs every chunk once, on up to `threads` threads (the calling one included), and returns when all are done.
   * Chunks are claimed dynamically (an `Atomics.add` counter): each thread takes the next one until none remain, so
   * a thread that is descheduled only delays the chunk it holds; a worker that has not taken up its wake-up by the
   * time every chunk is claimed is revoked and not waited for. Synchronous: workers are woken with `Atomics.notify`
   * and awaited with `Atomics.wait` (or, on a browser's main thread where waiting is not allowed, by polling).
   */
  runChunks(chunks: readonly Chunk[], threads?: number): void;
  /** Which thread ran each chunk of the last `runChunks` (0 the caller, i worker i): for tests and diagnostics. */
  lastRanBy(): number[];
  /** Test hook: delay threads on purpose (an empty list clears every delay). */
  setDelays(delays: readonly ThreadDelay[]): void;
  /** Stops the workers. The pool is unusable afterwards. */
  dispose(): Promise<void>;
}

type AnyWorker = {
  postMessage(message: unknown): void;
  terminate(): unknown;
  unref?: () => void;
  on?: (event: string, listener: (value: unknown) => void) => void;
  off?: (event: string, listener: (value: unknown) => void) => void;
  addEventListener?: (event: string, listener: (event: { data?: unknown; message?: string }) => void) => void;
};

/** Whether this thread may block in `Atomics.wait` (Node's main thread may; a browser's main thread may not). */
function canBlock(): boolean {
  if (isNode) return true;
  return typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
}

/** Why threads cannot run in this runtime, or null when they can. */
export function threadsUnsupported(): string | null {
  if (typeof WebAssembly === 'undefined') return 'this runtime has no WebAssembly';
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    return isolated === false
      ? 'the page is not cross-origin isolated (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer is unavailable'
      : 'SharedArrayBuffer is unavailable in this runtime';
  }
  if (!isNode && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (!isNode && typeof (globalThis as { Worker?: unknown }).Worker === 'undefined') {
    return 'this runtime has no Web Workers';
  }
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    if (!(memory.buffer instanceof SharedArrayBuffer)) return 'WebAssembly shared memory is unavailable';
    if (!WebAssembly.validate(simdMatMulPoolModuleBytes({ initial: 1, maximum: MAX_PAGES, shared: true }))) {
      return 'WebAssembly SIMD with shared memory does not validate in this runtime';
    }
  } catch (error) {
    return `WebAssembly shared memory is unavailable (${(error as Error).message})`;
  }
  return null;
}

/**
 * Starts `threads − 1` workers (the calling thread is the last one) that share one `WebAssembly.Memory` and the
 * SIMD kernel module. Resolves once every worker has instantiated the module. Node workers are `unref`'d, so an
 * idle pool never keeps a process alive.
 */
export async function createThreadPool(threads: number): Promise<ThreadPool> {
  const unsupported = threadsUnsupported();
  if (unsupported) throw new Error(unsupported);
  const memory = new WebAssembly.Memory({
    initial: 16,
    maximum: MAX_PAGES,
    shared: true,
  } as WebAssembly.MemoryDescriptor);
  const module = new WebAssembly.Module(simdMatMulPoolModuleBytes({ initial: 1, maximum: MAX_PAGES, shared: true }));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const kernels = Object.fromEntries(
    KERNEL_FUNCTIONS.map((name) => [name, instance.exports[name] as (...args: number[]) => void]),
  ) as ThreadPool['kernels'];
  const workerCount = threads - 1;
  const { table, ranBy, ints } = layout(workerCount);
  const control = new SharedArrayBuffer(4 * ints);
  const ctrl = new Int32Array(control);
  const workers: AnyWorker[] = [];
  let blobUrl: string | undefined;
  const started: Promise<void>[] = [];
  try {
    let makeWorker: (index: number) => AnyWorker;
    if (isNode) {
      const { Worker } = await importOptional<typeof import('node:worker_threads')>('node:worker_threads');
      makeWorker = (index) =>
        new Worker(NODE_WORKER_SOURCE, {
          eval: true,
          workerData: { module, memory, control, index, workers: workerCount },
          name: `distillery-thread-${index + 1}`,
        }) as unknown as AnyWorker;
    } else {
      blobUrl = URL.createObjectURL(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
      const url = blobUrl;
      makeWorker = (index) => {
        const worker = new Worker(url, { name: `distillery-thread-${index + 1}` }) as unknown as AnyWorker;
        worker.postMessage({ module, memory, control, index, workers: workerCount });
        return worker;
      };
    }
    for (let index = 0; index < workerCount; index++) {
      const worker = makeWorker(index);
      workers.push(worker);
      started.push(
        new Promise<void>((resolve, reject) => {
          if (worker.on && worker.off) {
            const onMessage = () => {
              worker.off?.('message', onMessage);
              worker.off?.('error', onError);
              resolve();
            };
            const onError = (error: unknown) => reject(error);
            worker.on('message', onMessage);
            worker.on('error', onError);
          } else {
            worker.addEventListener?.('message', () => resolve());
            worker.addEventListener?.('error', (event) => reject(new Error(event.message ?? 'worker failed')));
          }
        }),
      );
    }
    await Promise.all(started);
  } catch (error) {
    for (const worker of workers) worker.terminate();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    throw error;
  }
  if (blobUrl) URL.revokeObjectURL(blobUrl);
  for (const worker of workers) worker.unref?.();

  const blocking = canBlock();
  let disposed = false;
  let heap = new Float32Array(memory.buffer);

  const slot = (w: number) => HEADER_INTS + w * SLOT_INTS;
  /** After every chunk is claimed: revoke worker w's wake-up if it never took it up, else wait until it is done. */
  const finish = (w: number) => {
    const at = slot(w);
    if (Atomics.compareExchange(ctrl, at, STATE.RUN, STATE.IDLE) === STATE.RUN) return STATE.IDLE;
    if (blocking) {
      while (Atomics.load(ctrl, at) === STATE.BUSY) Atomics.wait(ctrl, at, STATE.BUSY);
    } else {
      while (Atomics.load(ctrl, at) === STATE.BUSY) {
        // A browser's main thread may not block: poll (a worker holds at most the chunk it is running).
      }
    }
    return Atomics.load(ctrl, at);
  };
  const fns = KERNEL_FUNCTIONS.map((name) => kernels[name]);
  let lastCount = 0;

  return {
    threads,
    memory,
    kernels,
    reserve(bytes) {
      const have = memory.buffer.byteLength;
      if (bytes > have) {
        const pages = Math.ceil((bytes - have) / PAGE);
        if (have / PAGE + pages > MAX_PAGES) return false;
        memory.grow(pages);
      }
      if (heap.buffer.byteLength !== memory.buffer.byteLength) heap = new Float32Array(memory.buffer);
      return heap;
    },
    runChunks(chunks, useThreads = threads) {
      if (disposed) throw new Error('@distillery/tensor: the thread pool was disposed');
      if (chunks.length > MAX_CHUNKS) throw new RangeError(`${chunks.length} chunks > ${MAX_CHUNKS}`);
      chunks.forEach((calls, i) => {
        if (calls.length > MAX_CALLS) throw new RangeError(`${calls.length} calls > ${MAX_CALLS} in one chunk`);
        const at = table + i * CHUNK_INTS;
        ctrl[at] = calls.length;
        calls.forEach((call, c) => {
          ctrl.fill(0, at + 1 + c * CALL_INTS, at + 1 + (c + 1) * CALL_INTS);
          ctrl.set(call, at + 1 + c * CALL_INTS);
        });
      });
      ctrl.fill(-1, ranBy, ranBy + chunks.length);
      lastCount = chunks.length;
      ctrl[CHUNK_COUNT] = chunks.length;
      Atomics.store(ctrl, COUNTER, 0);
      const helpers = Math.max(0, Math.min(useThreads, threads, chunks.length) - 1);
      for (let w = 0; w < helpers; w++) {
        Atomics.store(ctrl, slot(w), STATE.RUN);
        Atomics.notify(ctrl, slot(w));
      }
      if (blocking && (ctrl[CALLER_HOOK] as number) > 0 && ctrl[CALLER_HOOK + 1] === 0) {
        Atomics.wait(ctrl, SLEEP_WORD, 0, ctrl[CALLER_HOOK] as number);
      }
      let failure: unknown;
      try {
        drainChunks(ctrl, fns, table, ranBy, 0, blocking ? CALLER_HOOK : -1);
      } catch (error) {
        failure = error;
        // Close the op: nothing more is claimed (the workers finish the chunk they hold).
        Atomics.store(ctrl, COUNTER, MAX_CHUNKS);
      }
      let failedWorker = -1;
      for (let w = 0; w < helpers; w++) {
        if (finish(w) === STATE.FAILED) {
          failedWorker = w;
          Atomics.store(ctrl, slot(w), STATE.IDLE);
        }
      }
      if (failure) throw failure;
      if (failedWorker >= 0) throw new Error(`@distillery/tensor: thread ${failedWorker + 1} failed in a kernel`);
    },
    lastRanBy() {
      return Array.from(ctrl.subarray(ranBy, ranBy + lastCount));
    },
    setDelays(delays) {
      ctrl.fill(0, CALLER_HOOK, CALLER_HOOK + 2);
      for (let w = 0; w < workerCount; w++) ctrl.fill(0, slot(w) + 1, slot(w) + 3);
      for (const { thread, ms, where } of delays) {
        if (!Number.isInteger(thread) || thread < 0 || thread > workerCount) throw new RangeError(`thread ${thread}`);
        const at = thread === 0 ? CALLER_HOOK : slot(thread - 1) + 1;
        ctrl[at] = ms;
        ctrl[at + 1] = where === 'start' ? 0 : 1;
      }
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (let w = 0; w < workers.length; w++) {
        Atomics.store(ctrl, slot(w), STATE.QUIT);
        Atomics.notify(ctrl, slot(w));
      }
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
