import { type DataBackend, type Info, isHeapBackend } from '../kernel-types';

/**
 * Runs a JavaScript kernel body on float32 data of the cpu or wasm backend and returns its outputs as tensor infos.
 * On tfjs-wasm the outputs are allocated on its heap FIRST (an allocation may grow the heap and detach earlier
 * views), then inputs and outputs are viewed in place; on cpu the inputs are the backend's own arrays (`readSync`
 * copies nothing for float32) and the outputs are handed over with `write`.
 */
export function runOnFloat32(
  backend: unknown,
  inputs: readonly Info[],
  outShapes: readonly number[][],
  body: (ins: Float32Array[], outs: Float32Array[]) => void,
): Info[] {
  const b = backend as DataBackend;
  if (isHeapBackend(backend)) {
    const outs = outShapes.map((shape) => backend.makeOutput(shape, 'float32'));
    try {
      const view = (x: Info) => backend.typedArrayFromHeap(x) as Float32Array;
      body(inputs.map(view), outs.map(view));
    } catch (error) {
      for (const out of outs) b.disposeData(out.dataId);
      throw error;
    }
    return outs;
  }
  const ins = inputs.map((x) => b.readSync(x.dataId) as Float32Array);
  const outs = outShapes.map((shape) => new Float32Array(shape.reduce((p, s) => p * s, 1)));
  body(ins, outs);
  return outs.map((values, i) => {
    const shape = [...(outShapes[i] as number[])];
    return { dataId: b.write(values, shape, 'float32'), shape, dtype: 'float32' as const };
  });
}

/** The backends whose data the fused JavaScript kernels read in place. */
export const FUSED_BACKENDS = ['cpu', 'wasm'] as const;
