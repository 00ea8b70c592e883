import { checkNumber, checkOptions } from '@distillery/tensor';

export type LongTailProfile = 'exp' | 'step';

export interface LongTailCountsOptions {
  /** Number of classes C. */
  numClasses: number;
  /** n_max, the count of the largest class (5000 for CIFAR-10, 500 for CIFAR-100). */
  maxCount: number;
  /** IF = n_max / n_min ≥ 1 (100, 50 or 10 in the literature). */
  imbalanceFactor: number;
  /** 'exp' (default) or 'step'. */
  profile?: LongTailProfile;
}

/**
 * Per-class counts of a long-tailed subset (kaidic/LDAM-DRW, imbalance_cifar.py `get_img_num_per_cls`):
 *
 *     exp:  n_i = floor(n_max · IF^(−i/(C−1))),  i = 0 … C−1
 *     step: n_i = n_max for i < floor(C/2), floor(n_max / IF) otherwise
 *
 * CIFAR-10-LT IF 100 gives 5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50 (12,406 images). The exponent is
 * computed as in the reference, `n_max · (1/IF)^(i/(C−1))` in float64, then truncated. With C = 1 the only class
 * keeps n_max.
 */
export function longTailCounts(options: LongTailCountsOptions): number[] {
  const {
    numClasses,
    maxCount,
    imbalanceFactor,
    profile = 'exp',
  } = checkOptions<LongTailCountsOptions>(options ?? null, {
    numClasses: true,
    maxCount: true,
    imbalanceFactor: true,
    profile: ['exp', 'step'],
  });
  const C = checkNumber(numClasses, 'options.numClasses', { min: 1, max: 2 ** 24, integer: true });
  const nMax = checkNumber(maxCount, 'options.maxCount', { min: 1, integer: true });
  const IF = checkNumber(imbalanceFactor, 'options.imbalanceFactor', { min: 1 });
  const imbFactor = 1 / IF;
  const counts: number[] = [];
  if (profile === 'exp') {
    for (let i = 0; i < C; i++) counts.push(C === 1 ? nMax : Math.floor(nMax * imbFactor ** (i / (C - 1))));
  } else {
    const half = Math.floor(C / 2);
    for (let i = 0; i < C; i++) counts.push(i < half || C === 1 ? nMax : Math.floor(nMax * imbFactor));
  }
  return counts;
}
