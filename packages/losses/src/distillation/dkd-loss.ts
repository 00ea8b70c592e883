import {
  checkNumber,
  checkOptions,
  klDivergence,
  logSumExp,
  maskTargetLogits,
  oneHotFloat,
  stopGradient,
  tf,
} from '@distillery/tensor';
import {
  type CheckFiniteOption,
  checkHardLabels,
  checkLogitPair,
  checkTemperature,
  FINITE_SPEC,
  finiteCheck,
} from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';

export interface DkdLossOptions extends CheckFiniteOption {
  /** Weight of TCKD. Default 1 (mdistiller/engine/cfg.py). */
  alpha?: number;
  /** Weight of NCKD. Default 8 (cfg.py; e.g. configs/cifar100/dkd/res56_res20.yaml uses 2, ImageNet 0.5). */
  beta?: number;
  /** T. Default 4 (CIFAR-100); ImageNet uses 1. */
  temperature?: number;
}

/**
 * Decoupled KD (arXiv 2203.08679), megvii-research/mdistiller, mdistiller/distillers/DKD.py — the loss alone,
 * without the CE term and without the warm-up factor (multiply by `linearWarmup(epoch, 20)` as the distiller does):
 *
 *     b = [p_target, 1 − p_target] of softmax(z/T)                   [N, 2]
 *     TCKD = (T²/N) Σ_n KL(b_t ‖ b_s)
 *     NCKD = (T²/N) Σ_n KL(softmax(z_t/T − ∞·g) ‖ softmax(z_s/T − ∞·g))     non-target distribution, renormalised
 *     L = α·TCKD + β·NCKD
 *
 * Stability (the reference takes log of the binary probabilities, −∞ once p_target → 1): the logs are computed
 * directly, log b_tgt = logSoftmax(z/T)_y and log b_non = LSE(logSoftmax(z/T) − ∞·g). The reference's
 * `− 1000·gt_mask` is replaced by an exact shift (NON_TARGET_SHIFT of @distillery/tensor): identical wherever 1000 suffices,
 * and still the true non-target distribution at ±1e4 logits. The teacher is detached.
 *
 * @param student  float32 logits `[N, C]`, C >= 2
 * @param teacher  float32 logits `[N, C]` (constant)
 * @param labels   int32 `[N]`
 * @returns scalar
 */
export function dkdLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  labels: tf.Tensor1D,
  options?: DkdLossOptions,
): tf.Scalar {
  const {
    alpha = 1,
    beta = 8,
    temperature = 4,
    checkFinite,
  } = checkOptions<DkdLossOptions>(options, {
    alpha: true,
    beta: true,
    temperature: true,
    ...FINITE_SPEC,
  });
  checkNumber(alpha, 'options.alpha', { min: 0 });
  checkNumber(beta, 'options.beta', { min: 0 });
  checkTemperature(temperature);
  const [n, c] = checkLogitPair(student, teacher, 2);
  checkHardLabels(labels, c, n);
  finiteCheck(checkFinite, { student, teacher });
  if (fusedLossesActive()) {
    return tf.tidy(() =>
      runFused(
        'DistilleryDkdLoss',
        { student, teacher: stopGradient(teacher), labels },
        { alpha, beta, temperature, scale: 1 },
      ),
    );
  }
  return tf.tidy(() => {
    const g = oneHotFloat(labels, c);
    const binaryLogProbs = (lsm: tf.Tensor2D) =>
      tf.concat([tf.sum(tf.mul(lsm, g), 1, true), logSumExp(maskTargetLogits(lsm, g))], 1) as tf.Tensor2D;
    const zs = tf.div(student, temperature) as tf.Tensor2D;
    const zt = tf.div(stopGradient(teacher), temperature) as tf.Tensor2D;
    const logBs = binaryLogProbs(tf.logSoftmax(zs));
    const logBt = binaryLogProbs(tf.logSoftmax(zt));
    const tckd = klDivergence(tf.exp(logBt), logBs, { targetLogProbs: logBt, reduction: 'sum' });
    const logPhatT = tf.logSoftmax(maskTargetLogits(zt, g));
    const logPhatS = tf.logSoftmax(maskTargetLogits(zs, g));
    const nckd = klDivergence(tf.exp(logPhatT), logPhatS, { targetLogProbs: logPhatT, reduction: 'sum' });
    const scale = (temperature * temperature) / n;
    return tf.mul(tf.add(tf.mul(tckd, alpha), tf.mul(nckd, beta)), scale) as tf.Scalar;
  });
}
