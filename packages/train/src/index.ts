/**
 * @distillery/train — optimizers with PyTorch semantics (SGD, AdamW, SAM, EMA, clipping), LR schedules matching torch
 * schedulers, metrics checked against scikit-learn, and a training loop with atomic checkpoints and exact resume.
 */

export {
  type DistillLossFunction,
  type DistillOptions,
  type DistillResult,
  distill,
} from './distill/distill';
export {
  type LoadedTeacher,
  type LoadTeacherOptions,
  loadTeacher,
  type TeacherFormat,
} from './distill/load-teacher';
export {
  DISTILL_LOSS_SPECS,
  DISTILL_LOSSES,
  type DistillLossName,
  type DistillLossSpec,
  type DistillStep,
  TRAIN_LOSSES,
  type TrainLossName,
} from './distill/loss-table';
export {
  type Augment,
  type CommonRunOptions,
  type FitRunOptions,
  type LabelledData,
  SAMPLERS,
  type SamplerName,
} from './distill/run-setup';
export {
  type DistilleryModelLike,
  type Teacher,
  type TeacherFunction,
  type TeacherKind,
  type TeacherOutput,
  type TfjsModelLike,
  teacherAdapter,
} from './distill/teacher';
export { TeacherLogitCache } from './distill/teacher-cache';
export { type TrainLossFunction, type TrainOptions, type TrainResult, train } from './distill/train';
export {
  type CheckpointMeta,
  type CheckpointParts,
  type DecodedCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  encodeCheckpointAsync,
  loadCheckpoint,
  restoreCheckpoint,
  type StoredTensor,
  saveCheckpoint,
  type TrainingBuffers,
} from './loop/checkpoint';
export { type EpochRecord, type FitOptions, fit, type StepContext } from './loop/fit';
export { type PredictOptions, predictClasses, predictClassesAsync } from './loop/predict';
export { type ProgressMode, ProgressReporter } from './loop/progress';
export {
  accuracy,
  averagePrecision,
  balancedAccuracy,
  cohenKappa,
  confusionMatrix,
  type F1Options,
  f1Score,
  fewShotAccuracy,
  groupAccuracy,
  meanAveragePrecision,
  perClassAccuracy,
  topKAccuracy,
} from './metrics/classification';
export {
  adjustedRandIndex,
  type ClusteringAccuracy,
  clusteringAccuracy,
  linearSumAssignment,
  normalizedMutualInfo,
} from './metrics/clustering';
export { AdamW, type AdamWOptions } from './optim/adamw';
export { timmNoWeightDecay } from './optim/base';
export { clipGradNorm, clipGradNormOnDevice, globalNorm, globalNormTensor } from './optim/clip-grad-norm';
export { EMA, type EMAOptions } from './optim/ema';
export { SAM, type SAMOptions } from './optim/sam';
export { SGD, type SGDOptions } from './optim/sgd';
export type { Gradients, Optimizer, OptimizerState, SerializedTensor } from './optim/types';
export {
  type CosineAnnealingLROptions,
  constantLR,
  cosineAnnealingLR,
  type LinearLROptions,
  type LRSchedule,
  linearLR,
  type MultiStepLROptions,
  multiStepLR,
  type OneCycleOptions,
  oneCycleLR,
  perEpoch,
  type StepLROptions,
  sequentialLR,
  stepLR,
  type WarmupCosineLROptions,
  warmupCosineLR,
} from './schedules/schedules';
