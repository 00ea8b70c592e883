import * as tf from '@tensorflow/tfjs-core';
import { callKernel, type DataBackend, type Info, type KernelArgs } from './kernel-types';

let patched = false;

/**
 * tfjs-backend-cpu 4.22's Transform kernel (tf.image.transform) returns from inside its batch loop, so only the
 * first image is transformed and the rest come back as the fill value. This runs it once per image and
 * concatenates, which gives every image its own transform (as wasm and WebGPU do).
 */
export function registerCpuTransformFix(): boolean {
  const original = tf.getKernel('Transform', 'cpu');
  if (patched || !original) return false;
  patched = true;
  tf.unregisterKernel('Transform', 'cpu');
  tf.registerKernel({
    kernelName: 'Transform',
    backendName: 'cpu',
    kernelFunc: ((args: KernelArgs) => {
      const image = args.inputs.image as Info;
      const transforms = args.inputs.transforms as Info;
      const [batch, height, width, channels] = image.shape as [number, number, number, number];
      if (batch === 1) return original.kernelFunc(args as never);
      const backend = args.backend as DataBackend;
      const run = (name: string, inputs: KernelArgs['inputs'], attrs: Record<string, unknown>) =>
        callKernel(name, 'cpu', { inputs, backend, attrs });
      const parts: Info[] = [];
      const temporaries: Info[] = [];
      for (let b = 0; b < batch; b++) {
        const one = run('Slice', { x: image }, { begin: [b, 0, 0, 0], size: [1, height, width, channels] });
        const t =
          transforms.shape[0] === 1 ? transforms : run('Slice', { x: transforms }, { begin: [b, 0], size: [1, 8] });
        temporaries.push(one);
        if (t !== transforms) temporaries.push(t);
        parts.push(original.kernelFunc({ ...args, inputs: { image: one, transforms: t } } as never) as unknown as Info);
      }
      const out = callKernel('Concat', 'cpu', {
        inputs: parts as unknown as KernelArgs['inputs'],
        backend,
        attrs: { axis: 0 },
      });
      for (const t of [...temporaries, ...parts]) backend.disposeData(t.dataId);
      return out;
    }) as unknown as tf.KernelFunc,
  });
  return true;
}
