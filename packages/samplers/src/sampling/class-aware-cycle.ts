import { Rng } from '@distillery/tensor';
import { checkNumber, invalid } from '@distillery/tensor/errors';
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

/**
 * Class-balanced sampling as the official decoupling code does it (facebookresearch/classifier-balancing,
 * data/ClassAwareSampler.py): classes are visited in reshuffled cycles (each class once per C class draws), and each
 * class draw yields the next `numSamplesCls` indices of that class's own reshuffled cycle. An epoch has
 * max_c n_c · C indices by default. Unlike the reference, whose iterators persist across epochs, every epoch starts
 * fresh cycles from (seed, epoch), so that a resumed run replays it exactly.
 */
export function classAwareCycleSampler(
  labels: ArrayLike<number>,
  options: { seed?: number; numSamplesCls?: number; numSamples?: number; numClasses?: number } = {},
): Sampler {
  const byClass = indicesByClass(labels, options.numClasses);
  const C = byClass.length;
  if (C === 0) throw invalid('EMPTY_INPUT', 'labels', 'at least one labelled sample', 'none');
  const empty = byClass.findIndex((b) => b.length === 0);
  if (empty >= 0) {
    throw invalid('EMPTY_INPUT', `labels (class ${empty})`, 'at least one sample in every class', '0 samples');
  }
  const k = checkNumber(options.numSamplesCls ?? 1, 'options.numSamplesCls', { min: 1, integer: true });
  const seed = checkNumber(options.seed ?? 0, 'options.seed', { integer: true });
  const maxCount = Math.max(...byClass.map((b) => b.length));
  const n = checkNumber(options.numSamples ?? maxCount * C, 'options.numSamples', { min: 0, integer: true });
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
