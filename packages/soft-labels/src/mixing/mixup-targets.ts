import { assertLabels, assertRank, checkNumber, checkOptions, tf } from '@distillery/tensor';
import { labelSmoothing } from '../smoothing/label-smoothing';

export interface MixupTargetOptions {
  /** The mixing coefficient λ ∈ [0, 1] (for CutMix, the area-corrected value). */
  lambda: number;
  /** Label smoothing ε applied to both one-hots. Default 0.1 (timm Mixup's label_smoothing). */
  smoothing?: number;
}

/**
 * Mixup / CutMix targets, timm convention (timm/data/mixup.py `mixup_target`): the batch is mixed with its reverse,
 *
 *     y_mix = λ·y_ls(y) + (1 − λ)·y_ls(flip(y))      y_ls: label smoothing with off ε/C, on 1 − ε + ε/C
 *
 * @param labels      int32 `[N]` class indices
 * @param numClasses  C
 * @returns float32 `[N, C]`
 */
export function mixupTargets(labels: tf.Tensor1D, numClasses: number, options: MixupTargetOptions): tf.Tensor2D {
  const { lambda, smoothing = 0.1 } = checkOptions<MixupTargetOptions>(options, { lambda: true, smoothing: true });
  checkNumber(lambda, 'options.lambda', { min: 0, max: 1 });
  checkNumber(smoothing, 'options.smoothing', { min: 0, max: 1 });
  checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
  assertRank(labels, 1, 'labels');
  assertLabels(labels, numClasses, 'labels');
  return tf.tidy(() => {
    const y1 = labelSmoothing(labels, numClasses, smoothing);
    const y2 = labelSmoothing(tf.reverse(labels, 0), numClasses, smoothing);
    return tf.add(tf.mul(y1, lambda), tf.mul(y2, 1 - lambda)) as tf.Tensor2D;
  });
}
