/**
 * @distillery/losses — distillation and long-tail losses for tfjs, each a faithful port of the official PyTorch code
 * (cited per function) and parity-tested against reference scripts (tools/reference/losses).
 */
export { type DkdLossOptions, dkdLoss, linearWarmup } from './distillation/dkd-loss';
export { type KdLossOptions, kdLoss } from './distillation/kd-loss';
export { type NkdLossOptions, nkdLoss } from './distillation/nkd-loss';
export { type UskdLossOptions, uskdLoss } from './distillation/uskd-loss';
export { EXACT_NON_TARGET_SHIFT } from './internal/checks';
