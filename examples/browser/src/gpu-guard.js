import { tf } from '@distillery/tensor';

/**
 * On WebGPU, a synchronous read of a tensor that lives on the GPU (dataSync, arraySync) goes through a canvas copy
 * that some browsers cannot do: they hand back zeros and lose the device. The training path never reads that way;
 * should a recipe still do it, this makes it fail with a clear message instead of training on zeros.
 */
export function forbidSyncGpuReads() {
  const backend = tf.backend();
  if (backend.__distillerySyncGuard) return;
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    if (backend.tensorMap?.get(dataId)?.values != null) return readSync(dataId);
    throw new Error(
      'a synchronous read of a WebGPU tensor (dataSync/arraySync), which this page does not allow: ' +
        'this recipe is not yet WebGPU-ready here, use wasm',
    );
  };
  backend.__distillerySyncGuard = true;
}
