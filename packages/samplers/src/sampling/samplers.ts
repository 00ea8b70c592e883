import { checkNumber, checkOptions, describeValue, invalid, type OptionsSpec, Rng } from '@distillery/tensor';
import { indicesByClass } from '../long-tail/class-counts';
import { epochSeed } from '../util';
import { cumulative, drawCategorical } from './categorical';
import { classSamplingProbabilities, progressiveProbabilities } from './class-probabilities';
import type { Sampler } from './sampler';

export interface SamplerOptions {
  /** Seed (default 0). Epoch e's order depends only on (seed, e). */
  seed?: number;
  /** Indices per epoch; defaults to the dataset size. */
  numSamples?: number;
  /** Number of classes; defaults to max(label) + 1. A class with no sample then throws for class-aware samplers. */
  numClasses?: number;
}

const SAMPLER_OPTIONS: OptionsSpec<SamplerOptions> = { seed: true, numSamples: true, numClasses: true };

function checkEpoch(epoch: number): number {
  return checkNumber(epoch, 'epoch', { min: 0, integer: true });
}

/** Instance-balanced sampling (q = 1): a seeded random permutation of 0 … n−1 each epoch (`shuffle: false`: in order). */
export function instanceBalancedSampler(size: number, options: { seed?: number; shuffle?: boolean } = {}): Sampler {
  const { seed: givenSeed = 0, shuffle = true } = checkOptions<{ seed?: number; shuffle?: boolean }>(options, {
    seed: true,
    shuffle: [true, false],
  });
  const n = checkNumber(size, 'size', { min: 0, integer: true });
  const seed = checkNumber(givenSeed, 'options.seed', { integer: true });
  return {
    length: n,
    indices(epoch: number) {
      checkEpoch(epoch);
      if (!shuffle) return Int32Array.from({ length: n }, (_, i) => i);
      return new Rng(epochSeed(seed, epoch)).permutation(n);
    },
  };
}

/**
 * Class-aware sampling with class probabilities `probabilities(epoch)`: each draw picks class j with probability
 * p_j, then an instance of class j uniformly (with replacement), as in Kang et al. 2020.
 */
export function classAwareSampler(
  labels: ArrayLike<number>,
  probabilities: (epoch: number) => number[],
  options: SamplerOptions = {},
): Sampler {
  const { numClasses, seed: givenSeed = 0, numSamples } = checkOptions<SamplerOptions>(options, SAMPLER_OPTIONS);
  const byClass = indicesByClass(labels, numClasses);
  if (typeof probabilities !== 'function') {
    throw invalid(
      'INVALID_ARGUMENT',
      'probabilities',
      'a function (epoch) => class probabilities',
      describeValue(probabilities),
    );
  }
  const seed = checkNumber(givenSeed, 'options.seed', { integer: true });
  const n = checkNumber(numSamples ?? labels.length, 'options.numSamples', { min: 0, integer: true });
  return {
    length: n,
    indices(epoch: number) {
      checkEpoch(epoch);
      const p = checkProbabilities(probabilities(epoch), byClass, epoch);
      const cdf = cumulative(p);
      const rng = new Rng(epochSeed(seed, epoch));
      const out = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const c = drawCategorical(cdf, rng);
        const pool = byClass[c]!;
        out[k] = pool[rng.int(pool.length)]!;
      }
      return out;
    },
  };
}

/** The class probabilities an epoch returned: one finite p_c ≥ 0 per class, positive somewhere, 0 on empty classes. */
function checkProbabilities(p: unknown, byClass: number[][], epoch: number): number[] {
  const argument = `probabilities(${epoch})`;
  if (!Array.isArray(p) || p.length !== byClass.length) {
    throw invalid('INVALID_ARGUMENT', argument, `an array of ${byClass.length} class probabilities`, describeValue(p));
  }
  let total = 0;
  for (let c = 0; c < p.length; c++) {
    const v = checkNumber(p[c], `${argument}[${c}]`, { min: 0 });
    if (v > 0 && byClass[c]!.length === 0) {
      throw invalid('OUT_OF_RANGE', `${argument}[${c}]`, `0 (class ${c} has no samples)`, String(v));
    }
    total += v;
  }
  if (total === 0) throw invalid('INVALID_ARGUMENT', argument, 'at least one positive probability', 'all zero');
  return p as number[];
}

function countsOf(labels: ArrayLike<number>, numClasses: number | undefined, argument: string): number[] {
  const byClass = indicesByClass(labels, numClasses);
  if (byClass.length === 0) throw invalid('EMPTY_INPUT', argument, 'at least one labelled sample', 'none');
  const counts = byClass.map((b) => b.length);
  const empty = counts.indexOf(0);
  if (empty >= 0) {
    throw invalid(
      'EMPTY_INPUT',
      `${argument} (class ${empty})`,
      'at least one sample in every class for class-aware sampling',
      `class ${empty} has 0 samples`,
    );
  }
  return counts;
}

/** p_j = n_j^q / Σ n_i^q class-aware sampler (q = 0 class-balanced, ½ square-root, 1 instance-balanced in law). */
export function powerSampler(labels: ArrayLike<number>, q: number, options: SamplerOptions = {}): Sampler {
  const { numClasses } = checkOptions<SamplerOptions>(options, SAMPLER_OPTIONS);
  const counts = countsOf(labels, numClasses, 'labels');
  const p = classSamplingProbabilities(counts, q);
  return classAwareSampler(labels, () => p, options);
}

/** Class-balanced sampler (q = 0): a class uniformly, then an instance uniformly within it. */
export function classBalancedSampler(labels: ArrayLike<number>, options: SamplerOptions = {}): Sampler {
  return powerSampler(labels, 0, options);
}

/** Square-root sampler (q = ½): p_j ∝ √n_j. */
export function squareRootSampler(labels: ArrayLike<number>, options: SamplerOptions = {}): Sampler {
  return powerSampler(labels, 0.5, options);
}

/**
 * Progressively-balanced sampler (Kang et al. 2020): p_j(t) = (1 − t/T)·p_j^IB + (t/T)·p_j^CB, t = epoch, T =
 * `totalEpochs` (epochs past T use t = T).
 */
export function progressivelyBalancedSampler(
  labels: ArrayLike<number>,
  options: SamplerOptions & { totalEpochs: number },
): Sampler {
  const { totalEpochs, ...samplerOptions } = checkOptions<SamplerOptions & { totalEpochs: number }>(options ?? null, {
    ...SAMPLER_OPTIONS,
    totalEpochs: true,
  });
  const counts = countsOf(labels, samplerOptions.numClasses, 'labels');
  const T = checkNumber(totalEpochs, 'options.totalEpochs', { min: 1, integer: true });
  return classAwareSampler(labels, (epoch) => progressiveProbabilities(counts, Math.min(epoch, T), T), samplerOptions);
}

/**
 * Weighted sampling over indices (torch.utils.data.WeightedRandomSampler semantics): index i is drawn with
 * probability w_i / Σ w. With replacement, draws are independent; without, it is successive sampling without
 * replacement (Efraimidis–Spirakis keys log(u)/w_i, the same law as torch.multinomial(replacement=False)).
 */
export function weightedSampler(
  weights: ArrayLike<number>,
  options: { numSamples?: number; replacement?: boolean; seed?: number } = {},
): Sampler {
  const {
    numSamples,
    replacement = true,
    seed: givenSeed = 0,
  } = checkOptions<{ numSamples?: number; replacement?: boolean; seed?: number }>(options, {
    numSamples: true,
    replacement: [true, false],
    seed: true,
  });
  if (weights === null || typeof weights !== 'object' || !(weights.length > 0)) {
    throw invalid('EMPTY_INPUT', 'weights', 'a non-empty array of non-negative weights', describeValue(weights));
  }
  const w = Float64Array.from({ length: weights.length }, (_, i) =>
    checkNumber(weights[i], `weights[${i}]`, { min: 0 }),
  );
  const positive = w.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);
  if (positive === 0) throw invalid('INVALID_ARGUMENT', 'weights', 'at least one positive weight', 'all zero');
  const n = checkNumber(numSamples ?? w.length, 'options.numSamples', { min: 0, integer: true });
  if (!replacement && n > positive) {
    throw invalid(
      'OUT_OF_RANGE',
      'options.numSamples',
      `at most ${positive} (the positive weights) without replacement`,
      String(n),
    );
  }
  const seed = checkNumber(givenSeed, 'options.seed', { integer: true });
  const cdf = cumulative(w);
  return {
    length: n,
    indices(epoch: number) {
      checkEpoch(epoch);
      const rng = new Rng(epochSeed(seed, epoch));
      const out = new Int32Array(n);
      if (replacement) {
        for (let k = 0; k < n; k++) out[k] = drawCategorical(cdf, rng);
        return out;
      }
      const keys: { i: number; key: number }[] = [];
      for (let i = 0; i < w.length; i++) {
        const u = rng.uniform();
        if (w[i]! > 0) keys.push({ i, key: Math.log(u === 0 ? Number.MIN_VALUE : u) / w[i]! });
      }
      keys.sort((a, b) => b.key - a.key || a.i - b.i);
      for (let k = 0; k < n; k++) out[k] = keys[k]!.i;
      return out;
    },
  };
}
