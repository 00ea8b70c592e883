/**
 * @distillery/pseudo-labels — confidence-threshold pseudo-labels (FixMatch, FlexMatch), SCPNet's structured
 * semantic prior (label-to-label prior, label GCN classifier, pseudo-label memory) for single-positive multi-label
 * recognition, and GP-MAML's label propagation and adaptive picking for few-shot learning.
 */
export {
  type ConfidencePseudoLabelOptions,
  type ConfidencePseudoLabels,
  confidencePseudoLabels,
} from './fixmatch/confidence-pseudo-labels';
export { type FlexMatchOptions, FlexMatchThresholds } from './fixmatch/flexmatch-thresholds';
export { maskedConsistencyLoss } from './fixmatch/masked-consistency-loss';
export { type AdaptivePick, type AdaptivePickingOptions, adaptivePicking } from './meta-learning/adaptive-picking';
export {
  createMlp,
  type GpAdaptOptions,
  type GpAdaptResult,
  gpAdapt,
  type InnerStepOptions,
  innerStep,
  type MetaAlgorithm,
  type MlpParams,
  metaCrossEntropy,
  mlpEmbed,
  mlpForward,
} from './meta-learning/gp-maml';
export { gaussJordanSolve, type LabelPropagationOptions, labelPropagation } from './meta-learning/label-propagation';
export { type ScpnetClasswiseAccOptions, scpnetClasswiseAcc } from './scpnet/classwise-acc';
export {
  type ScpnetConsistencyLossOptions,
  scpnetConsistencyLoss,
  scpnetPriorTargets,
} from './scpnet/consistency-loss';
export {
  createScpnetGcn,
  type ScpnetGcnOptions,
  type ScpnetLogitsOptions,
  scpnetGcnClassifier,
  scpnetLogits,
} from './scpnet/gcn';
export { type ScpnetLabelPrior, type ScpnetLabelPriorOptions, scpnetLabelPrior } from './scpnet/label-prior';
export { ScpnetLabelMemory, type ScpnetLabelMemoryOptions } from './scpnet/memory';
export { type ScpnetPseudoLabelOptions, type ScpnetPseudoLabels, scpnetPseudoLabels } from './scpnet/pseudo-labels';
