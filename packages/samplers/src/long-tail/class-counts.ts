import { checkLabels } from '../util';

/**
 * Number of samples per class: `counts[c] = #{i : labels[i] = c}`. `numClasses` defaults to max(label) + 1; pass it to
 * keep trailing empty classes.
 */
export function classCounts(labels: ArrayLike<number>, numClasses?: number): number[] {
  const C = checkLabels(labels, 'labels', numClasses);
  const counts = new Array<number>(C).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i] as number]! += 1;
  return counts;
}

/** Indices of every class, in dataset order: `byClass[c]` lists the i with labels[i] = c. */
export function indicesByClass(labels: ArrayLike<number>, numClasses?: number): number[][] {
  const C = checkLabels(labels, 'labels', numClasses);
  const out: number[][] = Array.from({ length: C }, () => []);
  for (let i = 0; i < labels.length; i++) out[labels[i] as number]!.push(i);
  return out;
}
