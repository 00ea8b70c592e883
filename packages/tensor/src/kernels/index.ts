import * as tf from '@tensorflow/tfjs-core';
import { registerBroadcastingBatchMatMulGradient } from './batch-matmul-gradient';
import { registerChunkedAddN } from './chunked-add-n';
import { registerComposedConv2DBackprop } from './conv2d-backprop';
import { registerCpuFallback } from './cpu-fallback';
import { registerCpuTransformFix } from './cpu-transform';
import { registerLeadingAxesSum } from './leading-axes-sum';
import { registerRunCopySlice } from './run-copy-slice';
import { registerSharedIdentity } from './shared-identity';
import { registerTransposeFreeMatMul } from './transpose-free-matmul';
import { registerWasmBatchMatMul } from './wasm-simd/batch-matmul';
import { registerThreadedConv2D } from './wasm-simd/threaded-conv2d';
import { registerZeroGradients } from './zero-gradients';

export { registerBroadcastingBatchMatMulGradient } from './batch-matmul-gradient';
export { registerComposedConv2DBackprop } from './conv2d-backprop';
export { registerCpuFallback } from './cpu-fallback';
export { registerTransposeFreeMatMul } from './transpose-free-matmul';
export { registerWasmBatchMatMul, WASM_BATCH_MATMUL_ENV } from './wasm-simd/batch-matmul';
export { registerZeroGradients, ZERO_GRADIENT_KERNELS } from './zero-gradients';

/**
 * Kernels that training code needs and some backends lack (tfjs 4.22): wasm has no Conv2DBackpropFilter (conv
 * filter gradients), UnsortedSegmentSum (gather gradients), depthwise-conv gradients or Einsum; WebGPU lacks
 * Unique. Each is filled from the cpu implementation, except Conv2DBackpropFilter, which is composed from the
 * backend's own (fast) forward conv; wasm's slow Conv2DBackpropInput and transposed matMuls are rerouted likewise.
 */
export const KERNEL_GAPS: Record<string, readonly string[]> = {
  wasm: [
    'Conv2DBackpropFilter',
    'UnsortedSegmentSum',
    'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
    'Einsum',
  ],
  webgpu: ['Unique'],
};

const filled = new Set<string>();

/**
 * Fills the known kernel gaps of `backendName` (once) and registers the zero gradients of comparison ops.
 * Returns the kernels added by this call. Safe to call for any backend name, registered or not.
 */
export function fillKernelGaps(backendName: string): string[] {
  registerZeroGradients();
  registerBroadcastingBatchMatMulGradient();
  if (filled.has(backendName)) return [];
  filled.add(backendName);
  const added: string[] = [];
  for (const kernelName of KERNEL_GAPS[backendName] ?? []) {
    if (kernelName === 'Conv2DBackpropFilter') continue;
    if (registerCpuFallback(kernelName, backendName)) added.push(kernelName);
  }
  if (backendName === 'cpu' && registerCpuTransformFix()) added.push('Transform');
  // WebGPU: many-input AddN over the storage-buffer limit gave wrong sums silently.
  if (backendName === 'webgpu') added.push(...registerChunkedAddN(backendName));
  if (backendName === 'wasm') {
    // The conv gradients as forward convs (a missing kernel and a slow one), and transpose-free matMuls (a slow path).
    added.push(...registerComposedConv2DBackprop(backendName));
    added.push(...registerThreadedConv2D(backendName)); // on the thread pool when one runs (so the above follow)
    added.push(...registerWasmBatchMatMul(backendName)); // batched matMuls on WebAssembly SIMD, inside the next wrap
    added.push(...registerTransposeFreeMatMul(backendName));
    added.push(...registerSharedIdentity(backendName)); // clones share the buffer instead of copying it
    added.push(...registerRunCopySlice(backendName)); // Slice / SplitV copy whole contiguous runs
    added.push(...registerLeadingAxesSum(backendName)); // bias gradients sum rows without a transpose
  }
  return added;
}

/** Kernels that the cpu backend has and `backendName` still lacks (for diagnostics). */
export function missingKernels(backendName: string): string[] {
  const have = new Set(tf.getKernelsForBackend(backendName).map((k) => k.kernelName));
  return tf
    .getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((name) => !have.has(name));
}
