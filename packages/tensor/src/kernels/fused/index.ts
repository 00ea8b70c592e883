import { registerFusedAttention } from './attention';
import { registerFusedBatchNorm } from './batch-norm';
import { registerFusedGelu } from './gelu';
import { registerFusedLayerNorm } from './layer-norm';
import { registerFusedOptimizerUpdates } from './optimizer-update';

export {
  ATTENTION_GRAD_KERNEL,
  ATTENTION_KERNEL,
  composedAttention,
  type ScaledDotProductAttentionOptions,
  scaledDotProductAttention,
} from './attention';
export {
  BATCH_NORM_GRAD_KERNEL,
  BATCH_NORM_KERNEL,
  type BatchNormTrainResult,
  composedBatchNormTrain,
  fusedBatchNormTrain,
} from './batch-norm';

export { composedGelu, fusedGelu, GELU_GRAD_KERNEL, GELU_KERNEL } from './gelu';
export { composedLayerNorm, fusedLayerNorm, LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL } from './layer-norm';
export {
  ADAMW_UPDATE_KERNEL,
  type AdamWUpdateAttrs,
  fusedAdamWUpdate,
  fusedSgdUpdate,
  SGD_UPDATE_KERNEL,
  type SgdUpdateAttrs,
} from './optimizer-update';

/**
 * Set to `off` (read whenever the kernels are registered) to keep the composed ops: the fused LayerNorm, GELU,
 * attention and training BatchNorm round differently from them (within 1e-5 of them; BatchNorm closer to float64),
 * so a run that must reproduce the bytes of a run made before the fused kernels existed turns them off. (The
 * optimizer updates are bit-identical either way.)
 */
export const FUSED_KERNELS_ENV = 'DISTILLERY_FUSED_KERNELS';

/** Registers every fused kernel (cpu and wasm) and its gradient. Idempotent; returns what this call added. */
export function registerFusedKernels(): string[] {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.[FUSED_KERNELS_ENV] === 'off') return [];
  return [
    ...registerFusedLayerNorm(),
    ...registerFusedGelu(),
    ...registerFusedAttention(),
    ...registerFusedBatchNorm(),
    ...registerFusedOptimizerUpdates(),
  ];
}
