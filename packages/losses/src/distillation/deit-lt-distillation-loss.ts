import { checkNumber, invalid, oneHotFloat, stopGradient, tf } from '@distillery/tensor';
import {
  type CheckFiniteOption,
  type ClassVector,
  checkClassVector,
  checkLabelsOrSoftTargets,
  checkLogitPair,
  checkOptions,
  checkTemperature,
  finiteCheck,
} from '../internal/checks';
import { weightedCrossEntropy } from '../long-tail/cross-entropy';

export interface DeitLtDistillationLossOptions extends CheckFiniteOption {
  /** α: L = (1 − α)·base + α·dist. Default 0.5 (--distillation-alpha). */
  alpha?: number;
  /**
   * 'hard' (default; every released DeiT-LT script), 'soft', or 'none' (no distillation: the base loss alone, at full
   * weight, as DistillationLoss returns for `--distillation-type none`; the DIST head and teacher are unused).
   */
  type?: 'hard' | 'soft' | 'none';
  /** τ of the soft variant. Default 1 (--distillation-tau). */
  temperature?: number;
  /**
   * Weighted distillation (from the DRW epoch on): per-class weights `[C]`, e.g. `effectiveNumberWeights(counts)` of @distillery/samplers.
   * Hard: indexed by the teacher's predicted class, mean Σ w[ŷ_t]·CE / Σ w[ŷ_t]. Soft: the reference's quirk (below).
   */
  classWeights?: ClassVector;
}

/**
 * DeiT-LT distillation loss (Rangwani et al., arXiv 2404.02900; val-iisc/DeiT-LT, losses.py `DistillationLoss`):
 *
 *     base = CE(z_cls, y)  for int labels;  SoftTargetCrossEntropy(z_cls, y_mix)  for mixup/cutmix targets
 *     hard: ŷ_t = argmax z_teacher;   dist = Σ_n w[ŷ_t,n]·CE(z_dist,n, ŷ_t,n) / Σ_n w[ŷ_t,n]   (plain mean without w)
 *     soft: dist = T²·Σ KL(softmax(z_t/T) ‖ softmax(z_dist/T)) / (N·C)      (divides by numel, DeiT legacy)
 *     L = (1 − α)·base + α·dist            ('none': L = base)
 *
 * The weights are indexed by the **teacher's predicted class**, not the true label, and the base CE stays unweighted.
 * Soft + classWeights reproduces the reference literally: the teacher's log-probabilities are multiplied by w and
 * divided by their row sum, and the result is used as the log-target (`log_target=True`). The teacher is detached;
 * argmax ties pick the lowest class index (as torch.argmax).
 *
 * @param clsLogits      float32 `[N, C]` (CLS head)
 * @param distLogits     float32 `[N, C]` (DIST head)
 * @param teacherLogits  float32 `[N, C]` (constant)
 * @param labels         int32 `[N]` or float32 soft targets `[N, C]`
 * @returns scalar
 */
export function deitLtDistillationLoss(
  clsLogits: tf.Tensor2D,
  distLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D | tf.Tensor2D,
  options?: DeitLtDistillationLossOptions,
): tf.Scalar {
  const {
    alpha = 0.5,
    type = 'hard',
    temperature = 1,
    classWeights,
    checkFinite,
  } = checkOptions<DeitLtDistillationLossOptions>(options);
  checkNumber(alpha, 'options.alpha', { min: 0, max: 1 });
  checkTemperature(temperature);
  if (type !== 'hard' && type !== 'soft' && type !== 'none') {
    throw invalid('INVALID_ARGUMENT', 'options.type', "'hard', 'soft' or 'none'", JSON.stringify(type));
  }
  const [n, c] = checkLogitPair(clsLogits, distLogits, 1, ['clsLogits', 'distLogits']);
  checkLogitPair(clsLogits, teacherLogits, 1, ['clsLogits', 'teacherLogits']);
  const soft = checkLabelsOrSoftTargets(labels, c, n);
  const weights =
    classWeights === undefined
      ? undefined
      : checkClassVector(classWeights, c, 'options.classWeights', { allowZero: true });
  finiteCheck(checkFinite, { clsLogits, distLogits, teacherLogits });
  return tf.tidy(() => {
    const base = soft
      ? tf.mean(tf.neg(tf.sum(tf.mul(stopGradient(labels), tf.logSoftmax(clsLogits)), 1)))
      : weightedCrossEntropy(tf.logSoftmax(clsLogits) as tf.Tensor2D, oneHotFloat(labels as tf.Tensor1D, c));
    if (type === 'none') return base as tf.Scalar;
    const teacher = stopGradient(teacherLogits);
    let dist: tf.Tensor;
    if (type === 'hard') {
      const targets = oneHotFloat(tf.argMax(teacher, 1) as tf.Tensor1D, c);
      dist = weightedCrossEntropy(tf.logSoftmax(distLogits) as tf.Tensor2D, targets, weights);
    } else {
      let logT = tf.logSoftmax(tf.div(teacher, temperature));
      if (weights) {
        const weighted = tf.mul(logT, tf.tensor1d(weights, 'float32'));
        logT = tf.div(weighted, tf.sum(weighted, 1, true));
      }
      const logS = tf.logSoftmax(tf.div(distLogits, temperature));
      const kl = tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)));
      dist = tf.mul(kl, (temperature * temperature) / (n * c));
    }
    return tf.add(tf.mul(base, 1 - alpha), tf.mul(dist, alpha)) as tf.Scalar;
  });
}
