import { importOptional, isNode } from '../backends/optional-import';
import { simdMatMulModuleBytes } from '../kernels/wasm-simd/simd-matmul';
import {
  BROWSER_WORKER_SOURCE,
  CALL_INTS,
  KERNEL_FUNCTIONS,
  MAX_CALLS,
  NODE_WORKER_SOURCE,
  SLOT_INTS,
  STATE,
} from './worker-source';

const PAGE = 65536;
/** The shared memory's ceiling: 2 GiB (problems that need more stay on one thread). */
export const MAX_PAGES = 32768;

/** One kernel call: the index of the function in KERNEL_FUNCTIONS and its (up to 10) i32 arguments. */
export type KernelCall = readonly number[];

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
   * Runs `jobs[0]` on the calling thread and `jobs[i]` on worker i − 1 (empty jobs are skipped), and returns when
   * all are done. Synchronous: workers are woken with `Atomics.notify` and awaited with `Atomics.wait` (or, on a
   * browser's main thread where waiting is not allowed, by polling `Atomics.load`).
   */
  run(jobs: readonly (readonly KernelCall[])[]): void;
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
    if (!WebAssembly.validate(simdMatMulModuleBytes({ initial: 1, maximum: MAX_PAGES, shared: true }))) {
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
  const module = new WebAssembly.Module(simdMatMulModuleBytes({ initial: 1, maximum: MAX_PAGES, shared: true }));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const kernels = Object.fromEntries(
    KERNEL_FUNCTIONS.map((name) => [name, instance.exports[name] as (...args: number[]) => void]),
  ) as ThreadPool['kernels'];
  const workerCount = threads - 1;
  const control = new SharedArrayBuffer(4 * SLOT_INTS * Math.max(1, workerCount));
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
          workerData: { module, memory, control, index },
          name: `distillery-thread-${index + 1}`,
        }) as unknown as AnyWorker;
    } else {
      blobUrl = URL.createObjectURL(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
      const url = blobUrl;
      makeWorker = (index) => {
        const worker = new Worker(url, { name: `distillery-thread-${index + 1}` }) as unknown as AnyWorker;
        worker.postMessage({ module, memory, control, index });
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

  const waitIdle = (w: number) => {
    const at = w * SLOT_INTS;
    if (blocking) {
      while (Atomics.load(ctrl, at) === STATE.RUN) Atomics.wait(ctrl, at, STATE.RUN);
    } else {
      while (Atomics.load(ctrl, at) === STATE.RUN) {
        // A browser's main thread may not block: poll (the workers finish within the caller's own share).
      }
    }
    return Atomics.load(ctrl, at);
  };

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
    run(jobs) {
      if (disposed) throw new Error('@distillery/tensor: the thread pool was disposed');
      if (jobs.length > threads) throw new RangeError(`${jobs.length} jobs for ${threads} threads`);
      const woken: number[] = [];
      for (let t = 1; t < jobs.length; t++) {
        const calls = jobs[t] as readonly KernelCall[];
        if (calls.length === 0) continue;
        if (calls.length > MAX_CALLS) throw new RangeError(`${calls.length} calls > ${MAX_CALLS} in one job`);
        const w = t - 1;
        const at = w * SLOT_INTS;
        ctrl[at + 1] = calls.length;
        calls.forEach((call, c) => {
          ctrl.fill(0, at + 2 + c * CALL_INTS, at + 2 + (c + 1) * CALL_INTS);
          ctrl.set(call, at + 2 + c * CALL_INTS);
        });
        Atomics.store(ctrl, at, STATE.RUN);
        Atomics.notify(ctrl, at);
        woken.push(w);
      }
      let failure: unknown;
      try {
        for (const call of jobs[0] ?? []) {
          const fn = kernels[KERNEL_FUNCTIONS[call[0] as number] as (typeof KERNEL_FUNCTIONS)[number]];
          fn(...call.slice(1));
        }
      } catch (error) {
        failure = error;
      }
      let failedWorker = -1;
      for (const w of woken) {
        if (waitIdle(w) === STATE.FAILED) {
          failedWorker = w;
          Atomics.store(ctrl, w * SLOT_INTS, STATE.IDLE);
        }
      }
      if (failure) throw failure;
      if (failedWorker >= 0) throw new Error(`@distillery/tensor: thread ${failedWorker + 1} failed in a kernel`);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (let w = 0; w < workers.length; w++) {
        Atomics.store(ctrl, w * SLOT_INTS, STATE.QUIT);
        Atomics.notify(ctrl, w * SLOT_INTS);
      }
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
