/**
 * @distillery/ot — optimal transport for pseudo-labels and imbalanced clustering.
 */

export {
  type ClusterImbalancedOptions,
  type ClusterImbalancedResult,
  clusterImbalanced,
} from './clustering/cluster-imbalanced';
export { type KMeansOptions, type KMeansResult, kmeans } from './clustering/kmeans';
export type { OtEngine } from './internal/kernel';
export type { OtResult, SolverOptions } from './internal/result';
export type { Masses } from './internal/validate';
export {
  type KnnGaussianSimilarityOptions,
  knnGaussianSimilarity,
  type SparseSimilarity,
  similaritySubset,
  toSparseSimilarity,
} from './p2ot/knn-similarity';
export { LogitsMemory } from './p2ot/logits-memory';
export { p2ot } from './p2ot/p2ot';
export type { P2otOptions, P2otResult, P2otState } from './p2ot/p2ot-core';
export { type RhoScheduleOptions, rhoSchedule } from './p2ot/rho-schedule';
export { type Sp2otOptions, type Sp2otResult, sp2ot } from './p2ot/sp2ot';
export { swappedPredictionLoss } from './p2ot/swapped-prediction-loss';
export { type PartialWassersteinOptions, partialWasserstein } from './sinkhorn/partial-wasserstein';
export { type SinkhornOptions, sinkhorn } from './sinkhorn/sinkhorn';
export { type SinkhornUnbalancedOptions, sinkhornUnbalanced } from './sinkhorn/sinkhorn-unbalanced';
