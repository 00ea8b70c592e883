import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import * as samplers from '../src/index';
import {
  batchCount,
  batchIndices,
  classAwareCycleSampler,
  classAwareSampler,
  classBalancedSampler,
  classCounts,
  classSamplingProbabilities,
  deferredReweighting,
  effectiveNumberWeights,
  indicesByClass,
  instanceBalancedSampler,
  inverseFrequencyWeights,
  longTailCounts,
  longTailSubset,
  powerSampler,
  progressivelyBalancedSampler,
  progressiveProbabilities,
  repeatedAugmentationSampler,
  splitByCount,
  splitByCutpoints,
  splitByFraction,
  squareRootSampler,
  weightedSampler,
} from '../src/index';

/** A bad call and the `argument` its DistilleryError must name. */
type BadCall = [call: () => unknown, argument: string];

const labels = [0, 0, 1, 2, 2, 2];
const counts = [3, 2, 1];
const huge = [0, 1, 2 ** 31 - 1];
/** Sampler factories validate eagerly; `indices(epoch)` validates the epoch (and what callbacks return). */
const epochOf = (make: () => { indices(epoch: number): Int32Array }, epoch: number) => () => make().indices(epoch);

const cases: Record<string, BadCall[]> = {
  classCounts: [
    [() => classCounts(huge), 'labels[2]'],
    [() => classCounts([0, 1e9]), 'labels[1]'],
    [() => classCounts([0, -1]), 'labels[1]'],
    [() => classCounts([0, 1.5]), 'labels[1]'],
    [() => classCounts([0, Number.NaN]), 'labels[1]'],
    [() => classCounts([0, 3], 3), 'labels[1]'],
    [() => classCounts([0, 1], 1e12), 'numClasses'],
    [() => classCounts([0, 1], 0), 'numClasses'],
    [() => classCounts('012' as never), 'labels'],
    [() => classCounts(null as never), 'labels'],
  ],
  indicesByClass: [
    [() => indicesByClass(huge), 'labels[2]'],
    [() => indicesByClass([0, 2], 2), 'labels[1]'],
    [() => indicesByClass([0, 1], Number.NaN), 'numClasses'],
  ],
  longTailCounts: [
    [
      () => longTailCounts({ numClasses: 10, maxCount: 50, imbalanceFactor: 10, profil: 'step' } as never),
      'options.profil',
    ],
    [
      () => longTailCounts({ numClasses: 10, maxCount: 50, imbalanceFactor: 10, profile: 'linear' as 'exp' }),
      'options.profile',
    ],
    [() => longTailCounts({ numClasses: 1e12, maxCount: 50, imbalanceFactor: 10 }), 'options.numClasses'],
    [() => longTailCounts({ numClasses: 10, maxCount: 0, imbalanceFactor: 10 }), 'options.maxCount'],
    [() => longTailCounts(undefined as never), 'options'],
  ],
  longTailSubset: [
    [() => longTailSubset(labels, { imbalanceFactor: 2, sead: 1 } as never), 'options.sead'],
    [() => longTailSubset(labels, { imbalanceFactor: 2, shuffle: 'yes' as never }), 'options.shuffle'],
    [() => longTailSubset(huge, { imbalanceFactor: 2 }), 'labels[2]'],
    [() => longTailSubset([0, 5], { imbalanceFactor: 2, numClasses: 2 }), 'labels[1]'],
    [() => longTailSubset(labels, undefined as never), 'options'],
    [() => longTailSubset(labels, { imbalanceFactor: 0.5 }), 'options.imbalanceFactor'],
  ],
  inverseFrequencyWeights: [
    [() => inverseFrequencyWeights(counts, { powr: 0.5 } as never), 'options.powr'],
    [() => inverseFrequencyWeights(counts, { normalize: 'no' as never }), 'options.normalize'],
    [() => inverseFrequencyWeights(counts, { power: -1 }), 'options.power'],
    [() => inverseFrequencyWeights([3, 0], {}), 'counts[1]'],
  ],
  effectiveNumberWeights: [
    [() => effectiveNumberWeights(counts, { betta: 0.9 } as never), 'options.betta'],
    [() => effectiveNumberWeights(counts, { beta: 1 }), 'options.beta'],
    [() => effectiveNumberWeights(counts, { beta: Number.NaN }), 'options.beta'],
    [() => effectiveNumberWeights([1, -2]), 'counts[1]'],
  ],
  deferredReweighting: [
    [() => deferredReweighting(counts, 0, { drwEpoch: 2, bet: 0.9 } as never), 'options.bet'],
    // a bad post-switch beta fails from the first epoch, not only once drwEpoch is reached
    [() => deferredReweighting(counts, 0, { drwEpoch: 2, beta: 2 }), 'options.beta'],
    [() => deferredReweighting(counts, -1, { drwEpoch: 2 }), 'epoch'],
    [() => deferredReweighting(counts, 0, undefined as never), 'options'],
  ],
  splitByCount: [
    [() => splitByCount(counts, { meny: 10 } as never), 'options.meny'],
    [() => splitByCount(counts, { many: 10, few: 20 }), 'options.few'],
    [() => splitByCount([1, 1.5]), 'counts[1]'],
  ],
  splitByCutpoints: [
    [() => splitByCutpoints(10, [7, 3]), 'cutpoints[1]'],
    [() => splitByCutpoints(10, 3 as never), 'cutpoints'],
    [() => splitByCutpoints(0, [0, 0]), 'numClasses'],
  ],
  splitByFraction: [
    [() => splitByFraction(10, [0.7, 0.7]), 'fractions'],
    [() => splitByFraction(10, [0.3] as never), 'fractions'],
    [() => splitByFraction(10, [Number.NaN, 0.2]), 'fractions[0]'],
  ],
  batchCount: [
    [() => batchCount(-1, 2), 'size'],
    [() => batchCount(10, 0), 'batchSize'],
    [() => batchCount(10, 2, 'yes' as never), 'dropLast'],
  ],
  batchIndices: [
    [() => batchIndices([0, 1, 2], 2, { droplast: true } as never), 'options.droplast'],
    [() => batchIndices([0, -1, 2], 2), 'indices[1]'],
    [() => batchIndices([0, 1], 3, { dropLast: true }), 'batchSize'],
    [() => batchIndices([], 2), 'indices'],
  ],
  classSamplingProbabilities: [
    [() => classSamplingProbabilities(counts, -1), 'q'],
    [() => classSamplingProbabilities([0, 0], 1), 'counts'],
    [() => classSamplingProbabilities([1, Number.NaN], 1), 'counts[1]'],
  ],
  progressiveProbabilities: [
    [() => progressiveProbabilities(counts, 5, 4), 'epoch'],
    [() => progressiveProbabilities(counts, 0, 0), 'totalEpochs'],
  ],
  instanceBalancedSampler: [
    [() => instanceBalancedSampler(6, { shufle: false } as never), 'options.shufle'],
    [() => instanceBalancedSampler(6, { seed: 0.5 }), 'options.seed'],
    [() => instanceBalancedSampler(-1), 'size'],
    [epochOf(() => instanceBalancedSampler(6), -1), 'epoch'],
  ],
  classAwareSampler: [
    [() => classAwareSampler(labels, () => [1, 1, 1], { numclasses: 3 } as never), 'options.numclasses'],
    [() => classAwareSampler(huge, () => [1, 1, 1]), 'labels[2]'],
    [() => classAwareSampler(labels, 'uniform' as never), 'probabilities'],
    [epochOf(() => classAwareSampler(labels, () => [1, 1]), 0), 'probabilities(0)'],
    [epochOf(() => classAwareSampler(labels, () => [1, -1, 1]), 0), 'probabilities(0)[1]'],
    [epochOf(() => classAwareSampler(labels, () => [0, 0, 0]), 0), 'probabilities(0)'],
    [epochOf(() => classAwareSampler([0, 2], () => [1, 1, 1]), 0), 'probabilities(0)[1]'],
  ],
  powerSampler: [
    [() => powerSampler(labels, 0.5, { seeds: 1 } as never), 'options.seeds'],
    [() => powerSampler(labels, -1), 'q'],
    [() => powerSampler([0, 2], 0.5), 'labels (class 1)'],
    [() => powerSampler(huge, 0.5), 'labels[2]'],
  ],
  classBalancedSampler: [
    [() => classBalancedSampler(labels, { numSample: 4 } as never), 'options.numSample'],
    [() => classBalancedSampler([0, 1, 1e7]), 'labels[2]'],
    [() => classBalancedSampler(labels, { numSamples: -1 }), 'options.numSamples'],
  ],
  squareRootSampler: [
    [() => squareRootSampler(labels, { sed: 1 } as never), 'options.sed'],
    [() => squareRootSampler([0, 4], { numClasses: 3 }), 'labels[1]'],
  ],
  progressivelyBalancedSampler: [
    [() => progressivelyBalancedSampler(labels, { totalEpochs: 4, totalEpoch: 4 } as never), 'options.totalEpoch'],
    [() => progressivelyBalancedSampler(labels, { totalEpochs: 0 }), 'options.totalEpochs'],
    [() => progressivelyBalancedSampler(labels, undefined as never), 'options'],
    [() => progressivelyBalancedSampler(huge, { totalEpochs: 4 }), 'labels[2]'],
  ],
  weightedSampler: [
    [() => weightedSampler([1, 2], { replacment: false } as never), 'options.replacment'],
    [() => weightedSampler([1, 2], { replacement: 'no' as never }), 'options.replacement'],
    [() => weightedSampler([1, -2]), 'weights[1]'],
    [() => weightedSampler([]), 'weights'],
    [() => weightedSampler([1, 0], { replacement: false, numSamples: 2 }), 'options.numSamples'],
  ],
  classAwareCycleSampler: [
    [() => classAwareCycleSampler(labels, { numSamplesCLS: 2 } as never), 'options.numSamplesCLS'],
    [() => classAwareCycleSampler(huge), 'labels[2]'],
    [() => classAwareCycleSampler([0, 2]), 'labels (class 1)'],
    [() => classAwareCycleSampler(labels, { numSamplesCls: 0 }), 'options.numSamplesCls'],
  ],
  repeatedAugmentationSampler: [
    [() => repeatedAugmentationSampler(512, { numRepeat: 2 } as never), 'options.numRepeat'],
    [() => repeatedAugmentationSampler(512, { truncateTo256: 1 as never }), 'options.truncateTo256'],
    [() => repeatedAugmentationSampler(512, { numReplicas: 2, rank: 2 }), 'options.rank'],
    [() => repeatedAugmentationSampler(100), 'size'],
  ],
};

describe('@distillery/samplers robustness: every bad input is a DistilleryError naming the argument', () => {
  it('covers every public function of the package', () => {
    const publicFunctions = Object.entries(samplers)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect(Object.keys(cases).sort()).toEqual(publicFunctions);
  });

  for (const [name, calls] of Object.entries(cases)) {
    it(`${name}: ${calls.length} bad inputs`, () => {
      for (const [call, argument] of calls) {
        let error: unknown;
        try {
          call();
        } catch (e) {
          error = e;
        }
        expect(error, `${name}: expected a DistilleryError naming ${argument}`).toBeInstanceOf(DistilleryError);
        expect((error as DistilleryError).argument, (error as Error).message).toBe(argument);
      }
    });
  }

  it('a single huge label throws at once instead of sizing a table by it (no allocation until OOM)', () => {
    const start = performance.now();
    expect(() => classCounts(Int32Array.from([0, 1, 2_000_000_000]))).toThrowError(
      /labels\[2\]: expected an integer label in \[0, 1000000\) \(pass numClasses for more classes\), got 2000000000/,
    );
    expect(() => classCounts([0, 5], 4)).toThrowError(/labels\[1\]: expected an integer label in \[0, 4\)/);
    expect(performance.now() - start).toBeLessThan(1000);
    // labels below the bound still infer the class count
    expect(classCounts([0, 3])).toEqual([1, 0, 0, 1]);
  });
});
