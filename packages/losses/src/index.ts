/**
 * @distillery/losses — distillation and long-tail losses for tfjs, each a faithful port of the official PyTorch code
 * (cited per function) and parity-tested against reference scripts (tools/reference/losses).
 */
export {
  type DeiTLtDistillationLossOptions,
  deitLtDistillationLoss,
} from './distillation/deit-lt-distillation-loss';
export { type DkdLossOptions, dkdLoss } from './distillation/dkd-loss';
export { type KdLossOptions, kdLoss } from './distillation/kd-loss';
export { linearWarmup } from './distillation/linear-warmup';
export { type MdcsLossOptions, mdcsLoss } from './distillation/mdcs-loss';
export { type NkdLossOptions, nkdLoss } from './distillation/nkd-loss';
export { type UskdLossOptions, uskdLoss } from './distillation/uskd-loss';
export type { CheckFiniteOption, ClassVector } from './internal/checks';
export { balancedSoftmaxLoss } from './long-tail/balanced-softmax-loss';
export { type CrossEntropyOptions, crossEntropy } from './long-tail/cross-entropy';
export { type FocalLossOptions, focalLoss } from './long-tail/focal-loss';
export { type LdamLossOptions, ldamLoss } from './long-tail/ldam-loss';
export { type LogitAdjustedLossOptions, logitAdjustedLoss } from './long-tail/logit-adjusted-loss';
export { softTargetCrossEntropy } from './long-tail/soft-target-cross-entropy';
export { type SplcLossOptions, splcLoss } from './multi-label/splc-loss';
export {
  type ClassCorrelationOptions,
  type ClkdLossOptions,
  classCorrelationLoss,
  classLogitLoss,
  clkdLoss,
  instanceLogitLoss,
} from './relational/clkd-loss';
export {
  contextualLoss,
  type TrgLossOptions,
  type TrgLossParts,
  type TrgTemperatureOptions,
  trgLoss,
  trgTemperature,
} from './relational/trg-loss';
