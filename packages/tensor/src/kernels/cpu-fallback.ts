import * as tf from '@tensorflow/tfjs-core';
import { type DataBackend, hostBackend, type Info, type KernelArgs } from './kernel-types';

/**
 * Registers `kernelName` on `backendName` by running tfjs' CPU kernel on a host copy of the inputs. It is the
 * generic gap fill: exact (the same code as the cpu backend), and cheap for the kernels it covers (segment sums,
 * depthwise filter gradients, einsum), whose cost is dominated by the copy rather than the arithmetic.
 * Returns false when the backend already has the kernel or the cpu backend lacks it.
 */
export function registerCpuFallback(kernelName: string, backendName: string): boolean {
  if (tf.getKernel(kernelName, backendName)) return false;
  const cpuKernel = tf.getKernel(kernelName, 'cpu');
  if (!cpuKernel) return false;
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: ((args: KernelArgs) => {
      const target = args.backend as DataBackend;
      const cpu = hostBackend();
      // Some kernels (Einsum, Concat) take an array of inputs rather than a name map: keep the form.
      const hostInputs: Record<string, Info> | Info[] = Array.isArray(args.inputs) ? [] : {};
      const hostIds: object[] = [];
      for (const [name, info] of Object.entries(args.inputs)) {
        if (!info) continue;
        const dataId = cpu.write(target.readSync(info.dataId), info.shape, info.dtype);
        hostIds.push(dataId);
        (hostInputs as Record<string, Info>)[name] = { dataId, shape: info.shape, dtype: info.dtype };
      }
      const out = cpuKernel.kernelFunc({
        inputs: hostInputs,
        backend: cpu,
        attrs: args.attrs ?? {},
      } as unknown as Parameters<tf.KernelFunc>[0]) as unknown as Info | Info[];
      const outs = Array.isArray(out) ? out : [out];
      const results = outs.map((o) => {
        const dataId = target.write(cpu.readSync(o.dataId), o.shape, o.dtype);
        cpu.disposeData(o.dataId);
        return { dataId, shape: o.shape, dtype: o.dtype };
      });
      for (const id of hostIds) cpu.disposeData(id);
      return Array.isArray(out) ? results : results[0];
    }) as unknown as tf.KernelFunc,
  });
  return true;
}
