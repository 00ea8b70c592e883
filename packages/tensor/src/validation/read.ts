import * as tf from '@tensorflow/tfjs-core';

/** Backends whose synchronous read is a memory copy, not a GPU stall. */
const HOST_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * Reads a tensor's values synchronously when that is cheap: on host backends always, on WebGPU/WebGL only while
 * the data is still CPU-resident. Returns null otherwise, so validators can skip value checks instead of forcing a
 * GPU→CPU stall (or failing: WebGPU's readSync needs OffscreenCanvas, which Node lacks).
 */
export function readSyncIfResident(x: tf.Tensor): tf.TypedArray | null {
  const backendName = tf.getBackend();
  if (HOST_BACKENDS.has(backendName)) return x.dataSync();
  const backend = tf.backend() as unknown as { tensorMap?: { get(id: object): { values?: unknown } | undefined } };
  const entry = backend.tensorMap?.get(x.dataId);
  if (entry && entry.values != null) return x.dataSync();
  return null;
}
