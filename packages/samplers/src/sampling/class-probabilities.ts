import { checkNumber, invalid } from '@distillery/tensor';
import { checkCounts } from '../util';

/**
 * Class sampling probabilities of Kang et al. 2020 ("Decoupling representation and classifier", arXiv 1910.09217):
 *
 *     p_j = n_j^q / Σ_i n_i^q
 *
 * q = 1 instance-balanced, q = 0 class-balanced, q = ½ square-root. A class with n_j = 0 gets p_j = 0 (also for
 * q = 0: an empty class cannot be sampled).
 */
export function classSamplingProbabilities(counts: ArrayLike<number>, q: number): number[] {
  const n = checkCounts(counts);
  checkNumber(q, 'q', { min: 0 });
  const raw = n.map((c) => (c === 0 ? 0 : c ** q));
  const total = raw.reduce((a, b) => a + b, 0);
  if (total === 0) throw invalid('EMPTY_INPUT', 'counts', 'at least one non-empty class', JSON.stringify(n));
  return raw.map((r) => r / total);
}

/**
 * Progressively-balanced probabilities (Kang et al. 2020): p_j(t) = (1 − t/T)·p_j^IB + (t/T)·p_j^CB with t the
 * current epoch and T the total number of epochs.
 */
export function progressiveProbabilities(counts: ArrayLike<number>, epoch: number, totalEpochs: number): number[] {
  const T = checkNumber(totalEpochs, 'totalEpochs', { min: 1, integer: true });
  const t = checkNumber(epoch, 'epoch', { min: 0, max: T, integer: true });
  const ib = classSamplingProbabilities(counts, 1);
  const cb = classSamplingProbabilities(counts, 0);
  const a = t / T;
  return ib.map((p, j) => (1 - a) * p + a * (cb[j] as number));
}
