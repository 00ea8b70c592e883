import { checkNumber, checkOptions, describeValue, invalid } from '@distillery/tensor';
import { checkCounts } from '../util';

/** Class indices of each group. */
export interface ClassSplit {
  head: number[];
  mid: number[];
  tail: number[];
}

/**
 * Count-based split (Liu et al. 2019, OLTR, arXiv 1904.05160): many-shot (head) n > `many` (100), medium (mid)
 * `few` ≤ n ≤ `many`, few-shot (tail) n < `few` (20). CIFAR-100-LT IF 100 gives 35 / 35 / 30.
 */
export function splitByCount(counts: ArrayLike<number>, options: { many?: number; few?: number } = {}): ClassSplit {
  const { many: givenMany = 100, few: givenFew = 20 } = checkOptions<{ many?: number; few?: number }>(options, {
    many: true,
    few: true,
  });
  const n = checkCounts(counts);
  const many = checkNumber(givenMany, 'options.many', { min: 0 });
  const few = checkNumber(givenFew, 'options.few', { min: 0, max: many });
  const split: ClassSplit = { head: [], mid: [], tail: [] };
  n.forEach((c, j) => {
    if (c > many) split.head.push(j);
    else if (c < few) split.tail.push(j);
    else split.mid.push(j);
  });
  return split;
}

/**
 * Index cut points (val-iisc/DeiT-LT main.py `args.categories`): head = [0, c0), mid = [c0, c1), tail = [c1, C).
 * CIFAR-10-LT (3, 7), CIFAR-100-LT (36, 71), ImageNet-LT (390, 835), iNat-2018 (842, 4543). Assumes classes ordered by
 * descending count.
 */
export function splitByCutpoints(numClasses: number, cutpoints: readonly [number, number]): ClassSplit {
  const C = checkNumber(numClasses, 'numClasses', { min: 1, integer: true });
  if (!Array.isArray(cutpoints) || cutpoints.length !== 2) {
    throw invalid('INVALID_ARGUMENT', 'cutpoints', '[c0, c1]', describeValue(cutpoints));
  }
  const c0 = checkNumber(cutpoints[0], 'cutpoints[0]', { min: 0, max: C, integer: true });
  const c1 = checkNumber(cutpoints[1], 'cutpoints[1]', { min: c0, max: C, integer: true });
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);
  return { head: range(0, c0), mid: range(c0, c1), tail: range(c1, C) };
}

/**
 * Fractional split by class index (rhfeiyang/PPOT utils/evaluate_utils.py `class_acc_analyze`): head = first
 * int(0.3K), mid = the next int(0.4K), tail = the remaining classes.
 */
export function splitByFraction(numClasses: number, fractions: readonly [number, number] = [0.3, 0.4]): ClassSplit {
  const K = checkNumber(numClasses, 'numClasses', { min: 1, integer: true });
  if (!Array.isArray(fractions) || fractions.length !== 2) {
    throw invalid('INVALID_ARGUMENT', 'fractions', '[head, mid] fractions', describeValue(fractions));
  }
  const f0 = checkNumber(fractions[0], 'fractions[0]', { min: 0, max: 1 });
  const f1 = checkNumber(fractions[1], 'fractions[1]', { min: 0, max: 1 });
  if (f0 + f1 > 1) throw invalid('OUT_OF_RANGE', 'fractions', 'head + mid fractions at most 1', String(f0 + f1));
  const h = Math.floor(f0 * K);
  const m = Math.floor(f1 * K);
  return splitByCutpoints(K, [h, Math.min(K, h + m)]);
}
