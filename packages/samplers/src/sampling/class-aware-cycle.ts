import { checkNumber, checkOptions, invalid, Rng } from '@distillery/tensor';
import { indicesByClass } from '../long-tail/class-counts';
import { epochSeed } from '../util';
import type { Sampler } from './sampler';

/** A list visited in order and reshuffled each time it wraps around (classifier-balancing `RandomCycleIter`). */
class CycleIter {
  private i: number;
  constructor(
    private readonly items: number[],
    private readonly rng: Rng,
  ) {
    this.i = items.length - 1;
  }
  next(): number {
    this.i++;
    if (this.i === this.items.length) {
      this.i = 0;
      this.rng.shuffle(this.items);
    }
    return this.items[this.i]!;
  }
}

/** Options of `classAwareCycleSampler`. */
export interface ClassAwareCycleOptions {
  /** Seed (default 0). */
  seed?: number;
  /** Consecutive indices drawn from a class per class visit (default 1). */
  numSamplesCls?: number;
  /** Indices per epoch (default max_c n_c · C). */
  numSamples?: number;
  /** Number of classes; defaults to max(label) + 1. */
  numClasses?: number;
}

/**
 * Class-balanced sampling as the official decoupling code does it (facebookresearch/classifier-balancing,
 * data/ClassAwareSampler.py): classes are visited in reshuffled cycles (each class once per C class draws), and each
 * class draw yields the next `numSamplesCls` indices of that class's own reshuffled cycle. An epoch has
 * max_c n_c · C indices by default. Unlike the reference, whose iterators persist across epochs, every epoch starts
 * fresh cycles from (seed, epoch), so that a resumed run replays it exactly.
 */
export function classAwareCycleSampler(labels: ArrayLike<number>, options: ClassAwareCycleOptions = {}): Sampler {
  const {
    seed: givenSeed = 0,
    numSamplesCls = 1,
    numSamples,
    numClasses,
  } = checkOptions<ClassAwareCycleOptions>(options, {
    seed: true,
    numSamplesCls: true,
    numSamples: true,
    numClasses: true,
  });
  const byClass = indicesByClass(labels, numClasses);
  const C = byClass.length;
  if (C === 0) throw invalid('EMPTY_INPUT', 'labels', 'at least one labelled sample', 'none');
  const empty = byClass.findIndex((b) => b.length === 0);
  if (empty >= 0) {
    throw invalid('EMPTY_INPUT', `labels (class ${empty})`, 'at least one sample in every class', '0 samples');
  }
  const k = checkNumber(numSamplesCls, 'options.numSamplesCls', { min: 1, integer: true });
  const seed = checkNumber(givenSeed, 'options.seed', { integer: true });
  const maxCount = byClass.reduce((m, b) => Math.max(m, b.length), 0);
  const n = checkNumber(numSamples ?? maxCount * C, 'options.numSamples', { min: 0, integer: true });
  return {
    length: n,
    indices(epoch: number) {
      checkNumber(epoch, 'epoch', { min: 0, integer: true });
      const rng = new Rng(epochSeed(seed, epoch));
      const classes = new CycleIter(
        Array.from({ length: C }, (_, c) => c),
        rng,
      );
      const within = byClass.map((b) => new CycleIter(b.slice(), rng));
      const out = new Int32Array(n);
      let group: number[] = [];
      for (let i = 0, j = 0; i < n; i++, j++) {
        if (j >= k) j = 0;
        if (j === 0) {
          const it = within[classes.next()]!;
          group = Array.from({ length: k }, () => it.next());
        }
        out[i] = group[j]!;
      }
      return out;
    },
  };
}
