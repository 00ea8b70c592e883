import { assertSoftTargets } from '@distillery/soft-labels';
import { assertSameShape, checkOptions, stopGradient, tf } from '@distillery/tensor';
import { type CheckFiniteOption, checkSingleLogits, FINITE_SPEC, finiteCheck } from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';

/**
 * Cross-entropy with soft (mixup/cutmix, smoothed) targets, timm `SoftTargetCrossEntropy` (timm/loss/
 * cross_entropy.py), the base criterion of DeiT and DeiT-LT before DRW:
 *
 *     L = mean_n Σ_c −t_{n,c} · logSoftmax(z)_{n,c}
 *
 * The targets are constants (detached).
 *
 * @param logits   float32 `[N, C]`
 * @param targets  float32 `[N, C]`, finite and non-negative
 * @returns scalar
 */
export function softTargetCrossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor2D,
  options?: CheckFiniteOption,
): tf.Scalar {
  const { checkFinite } = checkOptions<CheckFiniteOption>(options, FINITE_SPEC);
  checkSingleLogits(logits);
  assertSoftTargets(targets, 'targets');
  assertSameShape(logits, targets, 'logits', 'targets');
  finiteCheck(checkFinite, { logits, targets });
  if (fusedLossesActive()) {
    const scale = 1 / (logits.shape[0] as number);
    return tf.tidy(() =>
      runFused('DistillerySoftTargetCrossEntropy', { logits, targets: stopGradient(targets) }, { weights: [], scale }),
    );
  }
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(stopGradient(targets), tf.logSoftmax(logits)), 1))) as tf.Scalar);
}
