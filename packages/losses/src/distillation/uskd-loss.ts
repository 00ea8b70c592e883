import {
  disposeTargetColumns,
  gatherColumns,
  labelSmoothing,
  smoothedTargetLabel,
  uskdRankScores,
  uskdTargetColumns,
  zipfNonTargetLabels,
} from '@distillery/soft-labels';
import { assertSameShape, checkNumber, checkOptions, maskTargetLogits, stopGradient, tf } from '@distillery/tensor';
import {
  type CheckFiniteOption,
  checkLabelsOrSoftTargets,
  checkLogitPair,
  FINITE_SPEC,
  finiteCheck,
} from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';

export interface UskdLossOptions extends CheckFiniteOption {
  /** Weight of the target term. Default 1 (cls_KD USKDLoss and ImageNet configs; cifar100/res18_sd_cifar uses 0.1). */
  alpha?: number;
  /** Weight of the non-target term. Default 0.1. */
  beta?: number;
  /** Weight of the weak-supervision term. Default 0.005 (CIFAR-100 config 0.1). */
  mu?: number;
}

/**
 * Universal Self-KD loss (arXiv 2303.13005), yzd-v/cls_KD, mmcls/models/dis_losses/uskd.py. No teacher: the targets
 * come from the student itself (`@distillery/soft-labels`).
 *
 *     loss_t    = −mean_n Σ_k p̃_k · logSoftmax(z_s)_{label_k}                     p̃ = smoothedTargetLabel (constant)
 *     loss_weak = −μ · mean_n Σ_c (0.9·y + 0.1/C)_c · logSoftmax(weakLogits)_c     y one-hot, or the soft target
 *     loss_non  = −mean_n Σ_{c∉labels} ẑ_c · logSoftmax_{non-target}(z_s)_c         ẑ = Zipf labels (constant) ranked
 *                                                                                 by uskdRankScores (with its quirk)
 *     L_USKD = α·loss_t + β·loss_non + loss_weak
 *
 * Hard labels use k = 1 label column; soft (mixup/cutmix) targets `[N, C]` use their top-2 classes (k = 2). The
 * caller adds the student CE. `weakLogits` = fc(f_mid), the extra Linear(channel, C) head on the intermediate
 * feature: it is trained only through loss_weak (the ranking is detached), exactly as in the reference.
 *
 * @param student     float32 final logits `[N, C]`, C >= k + 1
 * @param weakLogits  float32 logits of the weak head `[N, C]`
 * @param labels      int32 `[N]` or float32 soft targets `[N, C]`
 * @returns scalar
 */
export function uskdLoss(
  student: tf.Tensor2D,
  weakLogits: tf.Tensor2D,
  labels: tf.Tensor1D | tf.Tensor2D,
  options?: UskdLossOptions,
): tf.Scalar {
  const {
    alpha = 1,
    beta = 0.1,
    mu = 0.005,
    checkFinite,
  } = checkOptions<UskdLossOptions>(options, {
    alpha: true,
    beta: true,
    mu: true,
    ...FINITE_SPEC,
  });
  checkNumber(alpha, 'options.alpha', { min: 0 });
  checkNumber(beta, 'options.beta', { min: 0 });
  checkNumber(mu, 'options.mu', { min: 0 });
  const [n, c] = checkLogitPair(student, weakLogits, 2, ['student', 'weakLogits']);
  assertSameShape(student, weakLogits, 'student', 'weakLogits');
  const soft = checkLabelsOrSoftTargets(labels, c, n);
  if (soft && c < 3) {
    checkLogitPair(student, weakLogits, 3, ['student', 'weakLogits']);
  }
  finiteCheck(checkFinite, soft ? { student, weakLogits, labels } : { student, weakLogits });
  const columns = uskdTargetColumns(labels, c, 'labels', n);
  try {
    if (fusedLossesActive()) {
      // Two fused kernels (each has one differentiable input): the student terms, and loss_weak on the weak head as
      // a cross-entropy with label smoothing 0.1 (hard labels) or against the smoothed soft targets.
      return tf.tidy(() => {
        const studentTerms = runFused(
          'DistilleryUskdStudentLoss',
          { student, weak: stopGradient(weakLogits), columns: columns.labels, values: columns.values },
          { alpha, beta },
        );
        const lossWeak = soft
          ? runFused(
              'DistillerySoftTargetCrossEntropy',
              { logits: weakLogits, targets: labelSmoothing(labels, c, 0.1) },
              { weights: [], scale: mu / n },
            )
          : runFused(
              'DistilleryCrossEntropy',
              { logits: weakLogits, labels: labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32') },
              { labelSmoothing: 0.1, weights: [], scale: mu },
            );
        return tf.add(studentTerms, lossWeak) as tf.Scalar;
      });
    }
    return tf.tidy(() => {
      const logS = tf.logSoftmax(student) as tf.Tensor2D;
      const pTilde = smoothedTargetLabel(student, labels);
      const lossT = tf.neg(tf.mean(tf.sum(tf.mul(pTilde, gatherColumns(logS, columns.labels)), 1)));
      const weakTarget = labelSmoothing(labels, c, 0.1);
      const lossWeak = tf.mul(tf.mean(tf.sum(tf.mul(weakTarget, tf.logSoftmax(weakLogits)), 1)), -mu);
      const zipf = zipfNonTargetLabels(uskdRankScores(student, weakLogits, labels), labels);
      const logNon = tf.logSoftmax(maskTargetLogits(student, columns.mask));
      const lossNon = tf.neg(tf.mean(tf.sum(tf.mul(zipf, logNon), 1)));
      return tf.addN([tf.mul(lossT, alpha), tf.mul(lossNon, beta), lossWeak]) as tf.Scalar;
    });
  } finally {
    disposeTargetColumns(columns);
  }
}
