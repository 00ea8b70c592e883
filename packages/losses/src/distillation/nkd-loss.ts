import {
  checkNumber,
  checkOptions,
  gatherByOneHot,
  maskTargetLogits,
  oneHotFloat,
  stopGradient,
  tf,
} from '@distillery/tensor';
import {
  type CheckFiniteOption,
  checkLabelsOrSoftTargets,
  checkLogitPair,
  checkTemperature,
  FINITE_SPEC,
  finiteCheck,
} from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';

export interface NkdLossOptions extends CheckFiniteOption {
  /** T, applied to the non-target term only. Default 1 (cls_KD NKDLoss; CIFAR-100 config 3). */
  temperature?: number;
  /** γ, weight of the non-target term. Default 1.5 (cls_KD NKDLoss; DeiT configs 1.0, CIFAR-100 3.5). */
  gamma?: number;
}

/**
 * Normalized KD (arXiv 2303.13005), yzd-v/cls_KD, mmcls/models/dis_losses/nkd.py after the 2023-10-10 mask fix
 * (commit 9466b3f): the non-target term runs over the C − 1 non-target classes.
 *
 *     y    = labels, or argmax of soft (mixup/cutmix) targets
 *     L_t  = −mean_n( softmax(z_t)_y · logSoftmax(z_s)_y )                 no temperature; t_y detached
 *     L_nt = −γ·T² · mean_n Σ_{c≠y} softmax(z_t'/T)_c · logSoftmax(z_s'/T)_c    z' = logits without column y
 *     L    = L_t + L_nt
 *
 * The student's own CE is not included (the distiller adds it). Dropping the target column is done with an exact
 * logit shift (the softmax over the remaining columns is identical; the target gets weight 0). The teacher is
 * detached. Argmax ties pick the lowest class index, as torch.max does on CPU.
 *
 * @param student  float32 logits `[N, C]`, C >= 2
 * @param teacher  float32 logits `[N, C]` (constant)
 * @param labels   int32 `[N]`, or float32 soft targets `[N, C]` (their argmax is the label)
 * @returns scalar
 */
export function nkdLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  labels: tf.Tensor1D | tf.Tensor2D,
  options?: NkdLossOptions,
): tf.Scalar {
  const {
    temperature = 1,
    gamma = 1.5,
    checkFinite,
  } = checkOptions<NkdLossOptions>(options, {
    temperature: true,
    gamma: true,
    ...FINITE_SPEC,
  });
  checkTemperature(temperature);
  checkNumber(gamma, 'options.gamma', { min: 0 });
  const [n, c] = checkLogitPair(student, teacher, 2);
  const soft = checkLabelsOrSoftTargets(labels, c, n);
  finiteCheck(checkFinite, soft ? { student, teacher, labels } : { student, teacher });
  return tf.tidy(() => {
    const hard = soft ? tf.argMax(stopGradient(labels), 1) : labels;
    if (fusedLossesActive()) {
      const inputs = { student, teacher: stopGradient(teacher), labels: hard };
      return runFused('DistilleryNkdLoss', inputs, { temperature, gamma, scale: 1 });
    }
    const g = oneHotFloat(hard as tf.Tensor1D, c);
    const t = stopGradient(teacher);
    const sT = gatherByOneHot(tf.logSoftmax(student) as tf.Tensor2D, g);
    const tT = gatherByOneHot(tf.softmax(t) as tf.Tensor2D, g);
    const lossT = tf.neg(tf.mean(tf.mul(tT, sT)));
    const logS = tf.logSoftmax(maskTargetLogits(tf.div(student, temperature) as tf.Tensor2D, g));
    const pT = tf.softmax(maskTargetLogits(tf.div(t, temperature) as tf.Tensor2D, g));
    const lossNon = tf.mul(tf.mean(tf.sum(tf.mul(pT, logS), 1)), -gamma * temperature * temperature);
    return tf.add(lossT, lossNon) as tf.Scalar;
  });
}
