import { assertRank, checkNumber, checkOptions, type Rng, tf } from '@distillery/tensor';

export interface MetaMaskOptions {
  /** `mask_prob`, 1.0 in MetaFG_Meta (build_model does not pass the config's DATA.MASK_PROB). */
  maskProb?: number;
  /** 'linear' decays the probability with the epoch; 'constant' keeps `maskProb`. */
  maskType?: 'linear' | 'constant';
}

/**
 * The meta-dropout probability of MetaFG_Meta.forward (dqshuai/MetaFormer models/MetaFG_meta.py):
 * p = mask_prob − epoch/total_epochs for 'linear' (1 → 0 over training), else mask_prob.
 */
export function metaMaskProbability(epoch: number, totalEpochs: number, options: MetaMaskOptions = {}): number {
  checkNumber(epoch, 'epoch', { min: 0 });
  checkNumber(totalEpochs, 'totalEpochs', { min: 0, minExclusive: true });
  checkOptions<MetaMaskOptions>(options, { maskProb: true, maskType: ['linear', 'constant'] });
  const maskProb = checkNumber(options.maskProb ?? 1, 'options.maskProb', { min: 0, max: 1 });
  const type = options.maskType ?? 'linear';
  return type === 'linear' ? maskProb - epoch / totalEpochs : maskProb;
}

/**
 * Zeroes the whole meta vector of int(B·p) samples chosen by a random permutation (the reference's
 * `torch.randperm(B)[:int(B·p)]`). Returns a new tensor; p ≤ 0 masks nothing (the reference only masks while
 * p ≠ 0 in training; a negative p, past the last epoch, would slice from the end in Python and is treated as 0 here).
 */
export function applyMetaDropout(meta: tf.Tensor, p: number, rng: Rng): tf.Tensor {
  const t = assertRank(meta, 2, 'meta');
  checkNumber(p, 'p', { max: 1 });
  const b = t.shape[0]!;
  const count = p > 0 ? Math.trunc(b * p) : 0;
  const keep = new Float32Array(b).fill(1);
  const order = rng.permutation(b);
  for (let i = 0; i < count; i++) keep[order[i]!] = 0;
  return tf.tidy(() => tf.mul(t, tf.tensor2d(keep, [b, 1])));
}
