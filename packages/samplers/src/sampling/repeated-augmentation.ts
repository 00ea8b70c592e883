import { checkNumber, checkOptions, invalid, Rng } from '@distillery/tensor';
import { epochSeed } from '../util';
import type { Sampler } from './sampler';

export interface RepeatedAugmentationOptions {
  /** Copies of each index per epoch (default 3). */
  numRepeats?: number;
  /** Data-parallel processes (default 1). */
  numReplicas?: number;
  /** This process's rank (default 0). */
  rank?: number;
  seed?: number;
  shuffle?: boolean;
  /**
   * DeiT's epoch length ⌊⌊n/256⌋·256 / replicas⌋ (default true). A dataset smaller than 256 then gives an empty epoch,
   * which throws; pass false to keep all ⌈n·repeats/replicas⌉ indices.
   */
  truncateTo256?: boolean;
}

/**
 * Repeated augmentation (Hoffer et al. 2020; facebookresearch/deit samplers.py `RASampler`, used by DeiT and
 * DeiT-LT): shuffle 0…n−1, repeat every index `numRepeats` times consecutively (so the copies land in the same batch
 * with different augmentations), pad by wrapping to a multiple of the replicas, take every `numReplicas`-th index
 * from `rank`, then keep the first ⌊⌊n/256⌋·256/replicas⌋.
 */
export function repeatedAugmentationSampler(size: number, options: RepeatedAugmentationOptions = {}): Sampler {
  const o = checkOptions<RepeatedAugmentationOptions>(options, {
    numRepeats: true,
    numReplicas: true,
    rank: true,
    seed: true,
    shuffle: [true, false],
    truncateTo256: [true, false],
  });
  const n = checkNumber(size, 'size', { min: 1, integer: true });
  const repeats = checkNumber(o.numRepeats ?? 3, 'options.numRepeats', { min: 1, integer: true });
  const replicas = checkNumber(o.numReplicas ?? 1, 'options.numReplicas', { min: 1, integer: true });
  const rank = checkNumber(o.rank ?? 0, 'options.rank', { min: 0, max: replicas - 1, integer: true });
  const seed = checkNumber(o.seed ?? 0, 'options.seed', { integer: true });
  const shuffle = o.shuffle ?? true;
  const numSamples = Math.ceil((n * repeats) / replicas);
  const total = numSamples * replicas;
  const selected = (o.truncateTo256 ?? true) ? Math.floor((Math.floor(n / 256) * 256) / replicas) : numSamples;
  if (selected === 0) {
    throw invalid(
      'OUT_OF_RANGE',
      'size',
      'at least 256 samples per replica for DeiT’s epoch length (or truncateTo256: false)',
      String(n),
    );
  }
  return {
    length: selected,
    indices(epoch: number) {
      checkNumber(epoch, 'epoch', { min: 0, integer: true });
      const order = shuffle
        ? new Rng(epochSeed(seed, epoch)).permutation(n)
        : Int32Array.from({ length: n }, (_, i) => i);
      const repeated = new Int32Array(total);
      for (let k = 0; k < n * repeats; k++) repeated[k] = order[Math.floor(k / repeats)]!;
      for (let k = n * repeats; k < total; k++) repeated[k] = repeated[k - n * repeats]!;
      const out = new Int32Array(selected);
      for (let k = 0; k < selected; k++) out[k] = repeated[rank + k * replicas]!;
      return out;
    },
  };
}
