export { type KlDivergenceOptions, type KlReduction, klDivergence } from './kl-divergence';
export { logSigmoid, logSumExp } from './log-sum-exp';
export { maskTargetLogits, NON_TARGET_SHIFT } from './non-target';
export { gatherByOneHot, oneHotFloat } from './one-hot';
export { stopGradient } from './stop-gradient';
export { logSoftmaxWithTemperature, softmaxWithTemperature } from './temperature-softmax';
