import { checkOptions, klDivergence, stopGradient, tf } from '@distillery/tensor';
import { type CheckFiniteOption, checkLogitPair, checkTemperature, FINITE_SPEC, finiteCheck } from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';

export interface KdLossOptions extends CheckFiniteOption {
  /** T. Default 4 (mdistiller/engine/cfg.py, CIFAR-100); ImageNet configs use 1. */
  temperature?: number;
}

/**
 * Hinton KD (arXiv 1503.02531), as megvii-research/mdistiller, mdistiller/distillers/KD.py computes it:
 *
 *     L_KD = T² · (1/N) Σ_n KL( softmax(z_t/T) ‖ softmax(z_s/T) )       KL summed over classes, mean over the batch
 *
 * The loss alone (the caller adds w_CE·CE + w_KD·L_KD; mdistiller's defaults are 0.1 and 0.9). The teacher is
 * detached (it runs under no_grad in the reference).
 *
 * @param student  float32 logits `[N, C]`
 * @param teacher  float32 logits `[N, C]` (constant)
 * @returns scalar
 */
export function kdLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, options?: KdLossOptions): tf.Scalar {
  const { temperature = 4, checkFinite } = checkOptions<KdLossOptions>(options, { temperature: true, ...FINITE_SPEC });
  checkTemperature(temperature);
  checkLogitPair(student, teacher);
  finiteCheck(checkFinite, { student, teacher });
  if (fusedLossesActive()) {
    const scale = (temperature * temperature) / (student.shape[0] as number);
    return tf.tidy(() =>
      runFused('DistilleryKdLoss', { student, teacher: stopGradient(teacher) }, { temperature, scale, weights: [] }),
    );
  }
  return tf.tidy(() => {
    const t = tf.div(stopGradient(teacher), temperature);
    const logPt = tf.logSoftmax(t);
    const logPs = tf.logSoftmax(tf.div(student, temperature));
    const kl = klDivergence(tf.exp(logPt), logPs, { reduction: 'batchmean', targetLogProbs: logPt });
    return tf.mul(kl, temperature * temperature) as tf.Scalar;
  });
}
