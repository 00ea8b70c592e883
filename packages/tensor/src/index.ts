/**
 * @distillery/tensor — the tensor layer every Distillery package shares.
 *
 * Importing it registers tfjs-core's own gradients and chained ops (tfjs-core alone registers neither in Node) and
 * the cpu and wasm backends (their packages' own kernels). It changes NO kernel of tfjs' registry: Distillery's
 * kernels (gap fills, the SIMD BatchMatMul, fused LayerNorm/GELU/attention) and gradient overrides are registered
 * explicitly, by `initBackend()`, by `import '@distillery/tensor/register'` or by `registerKernels()`.
 */
import * as tf from '@tensorflow/tfjs-core';
import './register/gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export { noGrad } from './autograd/no-grad';
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
export {
  type AdamWUpdateAttrs,
  type BatchNormTrainResult,
  composedAttention,
  composedBatchNormTrain,
  composedGelu,
  composedLayerNorm,
  FUSED_KERNELS_ENV,
  fusedAdamWUpdate,
  fusedBatchNormTrain,
  fusedGelu,
  fusedLayerNorm,
  fusedSgdUpdate,
  type ScaledDotProductAttentionOptions,
  type SgdUpdateAttrs,
  scaledDotProductAttention,
} from './kernels/fused';
export * from './numerics';
export * from './random';
export { registerKernels } from './register/kernels';
export { assertNoTensorLeak, type LeakReport, measureTensorGrowth } from './testing/leak';
export { disposeThreads, THREADS_ENV, type ThreadsState, threadsState } from './threads';
export * from './validation';
export { tf };
