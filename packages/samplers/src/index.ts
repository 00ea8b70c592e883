/**
 * @distillery/samplers — long-tailed subsets, seeded epoch samplers, batch iterators and class re-weighting, in
 * plain TypeScript (no tensors). Randomness comes from `Rng` of @distillery/tensor (one RNG implementation in the
 * project; tfjs-core is therefore a peer dependency).
 */
export { classCounts, indicesByClass } from './long-tail/class-counts';
export { type LongTailCountsOptions, type LongTailProfile, longTailCounts } from './long-tail/long-tail-counts';
export { type LongTailSubset, type LongTailSubsetOptions, longTailSubset } from './long-tail/long-tail-subset';
export {
  type DeferredReweightingOptions,
  deferredReweighting,
  effectiveNumberWeights,
  inverseFrequencyWeights,
} from './reweighting/class-weights';
export { type ClassSplit, splitByCount, splitByCutpoints, splitByFraction } from './reweighting/splits';
export { batchCount, batchIndices } from './sampling/batches';
export { type ClassAwareCycleOptions, classAwareCycleSampler } from './sampling/class-aware-cycle';
export { classSamplingProbabilities, progressiveProbabilities } from './sampling/class-probabilities';
export { type RepeatedAugmentationOptions, repeatedAugmentationSampler } from './sampling/repeated-augmentation';
export type { Sampler } from './sampling/sampler';
export {
  classAwareSampler,
  classBalancedSampler,
  instanceBalancedSampler,
  powerSampler,
  progressivelyBalancedSampler,
  type SamplerOptions,
  squareRootSampler,
  weightedSampler,
} from './sampling/samplers';
