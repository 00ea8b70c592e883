/**
 * @distillery/pseudo-labels — confidence-threshold pseudo-labels (FixMatch, FlexMatch) and SCPNet's structured
 * prior for single-positive multi-label recognition.
 */
export {
  type ConfidencePseudoLabelOptions,
  type ConfidencePseudoLabels,
  confidencePseudoLabels,
} from './fixmatch/confidence-pseudo-labels';
export { type FlexMatchOptions, FlexMatchThresholds } from './fixmatch/flexmatch-thresholds';
export { maskedConsistencyLoss } from './fixmatch/masked-consistency-loss';
export { type AdaptivePick, adaptivePicking } from './meta/adaptive-picking';
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
} from './meta/gp-maml';
export { gaussJordanSolve, type LabelPropagationOptions, labelPropagation } from './meta/label-propagation';
export { type ScpnetClasswiseAccOptions, scpnetClasswiseAcc } from './scpnet/classwise-acc';
export { scpnetConsistencyLoss, scpnetPriorTargets } from './scpnet/consistency-loss';
export { type ScpnetLabelPrior, type ScpnetLabelPriorOptions, scpnetLabelPrior } from './scpnet/label-prior';
export { type ScpnetPseudoLabelOptions, type ScpnetPseudoLabels, scpnetPseudoLabels } from './scpnet/pseudo-labels';
