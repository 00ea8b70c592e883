import * as tf from '@tensorflow/tfjs-core';

/** The slice of tfjs' KernelBackend the gap fills use (read, write and free raw tensor data). */
export interface DataBackend {
  readSync(dataId: object): tf.TypedArray;
  write(values: tf.TypedArray, shape: number[], dtype: tf.DataType): object;
  disposeData(dataId: object, force?: boolean): boolean;
}

export interface Info {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

export type KernelArgs = {
  inputs: Record<string, Info | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
};

/** Runs another backend kernel directly (the way tfjs backends compose kernels, without the tape). */
export function callKernel(name: string, backendName: string, args: KernelArgs): Info {
  const kernel = tf.getKernel(name, backendName);
  if (!kernel) throw new Error(`@distillery/tensor: kernel ${name} is not registered for ${backendName}`);
  return kernel.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as unknown as Info;
}

/**
 * The cpu backend instance, used as the host for fallbacks. Its one-time "install tfjs-node" console banner is
 * turned off: `describeBackends()` gives that advice where it applies.
 */
export function hostBackend(): DataBackend {
  const cpu = tf.findBackend('cpu') as unknown as DataBackend & { firstUse?: boolean };
  cpu.firstUse = false;
  return cpu;
}

/** tfjs-wasm's own backend methods: allocate an output on its heap, and view a tensor's heap data (no copy). */
export interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(x: Info): tf.TypedArray;
}

/** Whether `backend` keeps tensor data on a WebAssembly heap it lets kernels view (tfjs-wasm). */
export function isHeapBackend(backend: unknown): backend is HeapBackend {
  const b = backend as Partial<HeapBackend> | null;
  return typeof b?.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function';
}

/**
 * tfjs-wasm's heap as a plain (non-shared) `WebAssembly.Memory` that a kernel module of ours can import and work on
 * in place, or null: another backend, or tfjs-wasm's threaded build (whose memory is shared and not exported).
 */
export function wasmHeapMemory(backend: unknown): WebAssembly.Memory | null {
  const memory = (backend as { wasm?: { asm?: { memory?: unknown } } } | null)?.wasm?.asm?.memory;
  if (typeof WebAssembly === 'undefined' || !(memory instanceof WebAssembly.Memory)) return null;
  return memory.buffer instanceof ArrayBuffer ? memory : null;
}

/**
 * Replaces the kernel `kernelName` of `backendName` with `make(original)`, keeping the original's setup and
 * dispose functions (the replacement may call the original for the cases it leaves alone). False, and nothing
 * changed, when the backend has no such kernel.
 */
export function replaceKernel(
  kernelName: string,
  backendName: string,
  make: (original: tf.KernelConfig) => (args: KernelArgs) => unknown,
): boolean {
  const original = tf.getKernel(kernelName, backendName);
  if (!original) return false;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...original, kernelFunc: make(original) as unknown as tf.KernelFunc });
  return true;
}
