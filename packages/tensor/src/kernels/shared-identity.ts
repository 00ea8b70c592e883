import { type Info, replaceKernel } from './kernel-types';

type RefCountedBackend = { incRef(dataId: object): void };

const replaced = new Set<string>();

/**
 * tfjs-wasm's Identity copies its input into a new buffer; the engine runs it for every tensor it saves for a
 * gradient (`clone`), ~180 copies in one ResNet training step. Tensor data is never written in place (tfjs-wasm's
 * own Reshape shares buffers the same way), so this Identity shares the buffer and counts a reference, as
 * tfjs-cpu's does. Strings keep the original kernel. Returns the kernels replaced by this call.
 */
export function registerSharedIdentity(backendName: string): string[] {
  if (backendName !== 'wasm') return [];
  if (replaced.has(backendName)) return [];
  const done = replaceKernel('Identity', backendName, (original) => (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype === 'string') return original.kernelFunc(args as never);
    (args.backend as RefCountedBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
  if (!done) return [];
  replaced.add(backendName);
  return ['Identity'];
}
