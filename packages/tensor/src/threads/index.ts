/**
 * The wasm backend's thread pool: one per process (or page), started by `initBackend('wasm', { threads })` and used
 * by the threaded kernels (batched matMul, the conv forward and so its composed gradients). One thread means no pool
 * at all: the kernels run exactly as before.
 */

import { importOptional, isNode } from '../backends/optional-import';
import { checkNumber, invalid } from '../errors';
import { createThreadPool, type ThreadPool, threadsUnsupported } from './pool';

export type { ThreadPool } from './pool';

/** Environment variable with the default thread count (a positive integer), read by `initBackend`. */
export const THREADS_ENV = 'DISTILLERY_THREADS';
/** The most threads a pool takes (a larger request is an error, not a silent cap). */
export const MAX_THREADS = 256;

export interface ThreadsState {
  /** Threads the wasm kernels use now (1: no pool). */
  threads: number;
  /** Threads asked for (by the option, the environment variable or the machine's core count). */
  requested: number;
  /** Where the request came from. */
  source: 'option' | 'environment' | 'cores';
  /** Why fewer threads run than were asked for (absent when all run). */
  reason?: string;
}

let pool: ThreadPool | null = null;
let state: ThreadsState = { threads: 1, requested: 1, source: 'option' };
let chain: Promise<unknown> = Promise.resolve();

/** The running pool (null on one thread). The kernels read this at every call. */
export function currentThreadPool(): ThreadPool | null {
  return pool;
}

/** The thread count and why, as the last `configureThreads` left it. */
export function threadsState(): ThreadsState {
  return { ...state };
}

async function coreCount(): Promise<number> {
  if (isNode) {
    try {
      const os = await importOptional<typeof import('node:os')>('node:os');
      return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    } catch {
      return 1;
    }
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? n : 1;
}

/** The requested count: the option, else DISTILLERY_THREADS, else the machine's cores. */
async function resolveRequest(threads: number | undefined): Promise<Pick<ThreadsState, 'requested' | 'source'>> {
  if (threads !== undefined) {
    return {
      requested: checkNumber(threads, 'options.threads', { min: 1, max: MAX_THREADS, integer: true }),
      source: 'option',
    };
  }
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[THREADS_ENV];
  if (env !== undefined && env.trim() !== '') {
    const n = Number(env.trim());
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
      throw invalid('INVALID_ARGUMENT', THREADS_ENV, `an integer from 1 to ${MAX_THREADS}`, JSON.stringify(env));
    }
    return { requested: n, source: 'environment' };
  }
  return { requested: await coreCount(), source: 'cores' };
}

/**
 * Sets the wasm kernels' thread count: `threads` when given, else `DISTILLERY_THREADS`, else the machine's cores
 * (`os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in browsers). Starts or replaces the pool
 * as needed; where threads cannot run (a page that is not cross-origin isolated, no SharedArrayBuffer) it stays on
 * one thread and `reason` says why. Calls are serialised.
 */
export async function configureThreads(threads?: number): Promise<ThreadsState> {
  const request = await resolveRequest(threads);
  const apply = async (): Promise<ThreadsState> => {
    if (request.requested === state.threads && (pool !== null) === request.requested > 1) {
      state = { ...state, ...request };
      return { ...state };
    }
    const old = pool;
    pool = null;
    await old?.dispose();
    const unsupported = request.requested > 1 ? threadsUnsupported() : null;
    if (request.requested === 1 || unsupported) {
      state = { threads: 1, ...request, ...(unsupported ? { reason: unsupported } : {}) };
      return { ...state };
    }
    try {
      pool = await createThreadPool(request.requested);
      state = { threads: request.requested, ...request };
    } catch (error) {
      state = { threads: 1, ...request, reason: `the thread pool failed to start: ${(error as Error).message}` };
    }
    return { ...state };
  };
  const result = chain.then(apply, apply);
  chain = result.catch(() => undefined);
  return result;
}

/**
 * Stops the wasm kernels' worker threads (the kernels go back to one thread). Node workers never keep a process
 * alive, so this is optional there; call it to free the threads early (tests, a page that is done training).
 */
export async function disposeThreads(): Promise<void> {
  const stop = async () => {
    const old = pool;
    pool = null;
    if (old) state = { ...state, threads: 1, reason: 'disposeThreads() stopped the threads' };
    await old?.dispose();
  };
  const result = chain.then(stop, stop);
  chain = result.catch(() => undefined);
  await result;
}
