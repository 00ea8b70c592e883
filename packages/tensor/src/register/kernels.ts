import { fillKernelGaps } from '../kernels';
import { registerFusedKernels } from '../kernels/fused';

/**
 * Registers Distillery's kernels and gradients with tfjs-core's global registries, for the cpu and wasm backends
 * (and any backend named in `backendNames`): the kernel gap fills and faster kernels of `fillKernelGaps` (which
 * REPLACE some of tfjs-wasm's kernels, e.g. BatchMatMul), the zero gradients of comparison ops, the broadcasting
 * BatchMatMul gradient, wasm's buffer-sharing Identity, and the fused LayerNorm / GELU / attention / training
 * BatchNorm kernels (cpu and wasm) with their gradients and the fused optimizer updates. Idempotent.
 *
 * Importing `@distillery/tensor` (or any package built on it) registers none of these: a host application's
 * kernel registry is left as it was. They are registered by `initBackend()`, by `import '@distillery/tensor/register'`,
 * or by calling this function.
 */
export function registerKernels(backendNames: readonly string[] = []): void {
  for (const name of ['cpu', 'wasm', ...backendNames]) fillKernelGaps(name);
  registerFusedKernels();
}
