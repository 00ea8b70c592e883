import { registerFusedGelu } from './gelu';
import { registerFusedLayerNorm } from './layer-norm';
import { registerFusedOptimizerUpdates } from './optimizer-update';

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

/** Registers every fused kernel (cpu and wasm) and its gradient. Idempotent; returns what this call added. */
export function registerFusedKernels(): string[] {
  return [...registerFusedLayerNorm(), ...registerFusedGelu(), ...registerFusedOptimizerUpdates()];
}
