import * as tf from '@tensorflow/tfjs-core';
import type { DataBackend, Info, KernelArgs } from './kernel-types';

/** Inputs per AddN call: WebGPU adapters may bind as few as 8 storage buffers per shader (7 inputs + the output). */
const MAX_INPUTS = 7;
const wrapped = new Set<string>();

/**
 * tfjs-webgpu compiles AddN over all its inputs into one shader; with more inputs than the adapter's storage-buffer
 * limit (8 on SwiftShader), the pipeline fails to build and the result is silently wrong (only console warnings).
 * Gradient-norm clipping sums one term per parameter, so this is hit by ordinary training code. This wraps AddN to
 * sum in chunks of at most 7 inputs, then sum the partial sums.
 */
export function registerChunkedAddN(backendName: string): string[] {
  const original = tf.getKernel('AddN', backendName);
  if (!original || wrapped.has(backendName)) return [];
  wrapped.add(backendName);
  tf.unregisterKernel('AddN', backendName);
  tf.registerKernel({
    kernelName: 'AddN',
    backendName,
    kernelFunc: ((args: KernelArgs) => {
      let terms = Object.values(args.inputs) as Info[];
      if (terms.length <= MAX_INPUTS) return original.kernelFunc(args as never);
      const backend = args.backend as DataBackend;
      const partials: Info[] = [];
      while (terms.length > MAX_INPUTS) {
        const next: Info[] = [];
        for (let i = 0; i < terms.length; i += MAX_INPUTS) {
          const chunk = terms.slice(i, i + MAX_INPUTS);
          const sum =
            chunk.length === 1
              ? (chunk[0] as Info)
              : (original.kernelFunc({
                  ...args,
                  inputs: chunk as unknown as KernelArgs['inputs'],
                } as never) as unknown as Info);
          if (sum !== chunk[0]) partials.push(sum);
          next.push(sum);
        }
        terms = next;
      }
      const out = original.kernelFunc({
        ...args,
        inputs: terms as unknown as KernelArgs['inputs'],
      } as never) as unknown as Info;
      for (const p of partials) backend.disposeData(p.dataId);
      return out;
    }) as unknown as tf.KernelFunc,
  });
  return ['AddN'];
}
