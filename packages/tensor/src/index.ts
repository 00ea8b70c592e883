/**
 * @distillery/tensor — the tensor layer every Distillery package shares.
 *
 * Importing it registers tfjs-core's gradients and chained ops (tfjs-core alone registers neither in Node), the cpu
 * and wasm backends, and the kernel fills that make the same training code run on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import './register/gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { fillKernelGaps } from './kernels';

// Fill the gaps of the backends registered at import time; WebGPU is filled when initBackend loads it.
fillKernelGaps('cpu');
fillKernelGaps('wasm');

export {
  type BackendPreference,
  type BackendReport,
  type BackendSource,
  describeBackends,
  type InitBackendOptions,
  initBackend,
} from './backends/init-backend';
export { type ConformanceCase, conformanceCases } from './conformance/cases';
export {
  type ConformanceMismatch,
  type ConformanceOutput,
  type ConformanceReport,
  type ConformanceResults,
  runConformance,
  runConformanceCases,
} from './conformance/run';
export {
  checkEnum,
  checkNumber,
  checkOptions,
  closestName,
  DistilleryError,
  type DistilleryErrorCode,
  type DistilleryErrorDetails,
  describeValue,
  formatShape,
  invalid,
  type OptionsSpec,
  type OptionValue,
} from './errors';
export {
  entryToFloat32,
  parseSafetensors,
  readSafetensorsFile,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SafetensorsInput,
  serializeSafetensors,
  writeSafetensorsFile,
} from './io/safetensors';
export { fillKernelGaps, KERNEL_GAPS, missingKernels, registerCpuFallback, ZERO_GRADIENT_KERNELS } from './kernels';
export * from './numerics';
export * from './random';
export { assertNoTensorLeak, type LeakReport, measureTensorGrowth } from './testing/leak';
export { disposeThreads, THREADS_ENV, type ThreadsState, threadsState } from './threads';
export * from './validation';
export { tf };
