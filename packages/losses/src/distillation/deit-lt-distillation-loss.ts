import { checkNumber, checkOptions, oneHotFloat, stopGradient, tf } from '@distillery/tensor';
import {
  type CheckFiniteOption,
  type ClassVector,
  checkClassVector,
  checkLabelsOrSoftTargets,
  checkLogitPair,
  checkTemperature,
  FINITE_SPEC,
  finiteCheck,
} from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';
import { weightedCrossEntropy } from '../long-tail/cross-entropy';

export interface DeiTLtDistillationLossOptions extends CheckFiniteOption {
  /** α: L = (1 − α)·base + α·dist. Default 0.5 (--distillation-alpha). */
  alpha?: number;
  /**
   * 'hard' (default; every released DeiT-LT script), 'soft', or 'none': no teacher, the DIST head is trained on the
   * labels (`--distillation-type none`; see below). With 'none' the teacher logits may be `null`.
   */
  type?: 'hard' | 'soft' | 'none';
  /** τ of the soft variant. Default 1 (--distillation-tau). */
  temperature?: number;
  /**
   * Weighted distillation (from the DRW epoch on): per-class weights `[C]`, e.g. `effectiveNumberWeights(counts)` of
   * @distillery/samplers. Hard: indexed by the teacher's predicted class, mean Σ w[ŷ_t]·CE / Σ w[ŷ_t]. Soft: the
   * reference's quirk (below). 'none': the DIST head's CE on the labels is class-weighted.
   */
  classWeights?: ClassVector;
}

/**
 * DeiT-LT distillation loss (Rangwani et al., arXiv 2404.02900; val-iisc/DeiT-LT @bc36970, losses.py
 * `DistillationLoss.forward`):
 *
 *     base = CE(z_cls, y)  for int labels;  SoftTargetCrossEntropy(z_cls, y_mix)  for mixup/cutmix targets
 *     hard: ŷ_t = argmax z_teacher;   dist = Σ_n w[ŷ_t,n]·CE(z_dist,n, ŷ_t,n) / Σ_n w[ŷ_t,n]   (plain mean without w)
 *     soft: dist = T²·Σ KL(softmax(z_t/T) ‖ softmax(z_dist/T)) / (N·C)      (divides by numel, DeiT legacy)
 *     none: dist = SoftTargetCrossEntropy(z_dist, y)  (CE(z_dist, y) for int labels)                   without w
 *           dist = torch CrossEntropyLoss(weight = w)(z_dist, y)                                       with w
 *     L = (1 − α)·base + α·dist
 *
 * With type 'none' the reference trains the DIST head on the ground truth (its `token_2_loss`), so both heads learn
 * from the labels and no teacher is needed. With class weights and int labels that CE is Σ w_y·ℓ / Σ w_y; with soft
 * targets it is mean_n(−Σ_c w_c·y_c·log p_c) (PyTorch's weighted CE with probability targets divides by N). For int
 * labels the reference's unweighted path relies on its one-hot fallback; the value is the plain CE on the DIST head.
 *
 * The weights are indexed by the **teacher's predicted class**, not the true label, and the base CE stays unweighted.
 * Soft + classWeights reproduces the reference literally: the teacher's log-probabilities are multiplied by w and
 * divided by their row sum, and the result is used as the log-target (`log_target=True`). The teacher is detached;
 * argmax ties pick the lowest class index (as torch.argmax).
 *
 * @param clsLogits      float32 `[N, C]` (CLS head)
 * @param distLogits     float32 `[N, C]` (DIST head)
 * @param teacherLogits  float32 `[N, C]` (constant); may be `null` with type 'none'
 * @param labels         int32 `[N]` or float32 soft targets `[N, C]`
 * @returns scalar
 */
export function deitLtDistillationLoss(
  clsLogits: tf.Tensor2D,
  distLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D | null,
  labels: tf.Tensor1D | tf.Tensor2D,
  options?: DeiTLtDistillationLossOptions,
): tf.Scalar {
  const {
    alpha = 0.5,
    type = 'hard',
    temperature = 1,
    classWeights,
    checkFinite,
  } = checkOptions<DeiTLtDistillationLossOptions>(options, {
    alpha: true,
    type: ['hard', 'soft', 'none'],
    temperature: true,
    classWeights: true,
    ...FINITE_SPEC,
  });
  checkNumber(alpha, 'options.alpha', { min: 0, max: 1 });
  checkTemperature(temperature);
  const [n, c] = checkLogitPair(clsLogits, distLogits, 1, ['clsLogits', 'distLogits']);
  const teacherGiven = !(type === 'none' && teacherLogits === null);
  if (teacherGiven) checkLogitPair(clsLogits, teacherLogits, 1, ['clsLogits', 'teacherLogits']);
  const soft = checkLabelsOrSoftTargets(labels, c, n);
  const weights =
    classWeights === undefined
      ? undefined
      : checkClassVector(classWeights, c, 'options.classWeights', { allowZero: true });
  finiteCheck(
    checkFinite,
    teacherGiven ? { clsLogits, distLogits, teacherLogits: teacherLogits as tf.Tensor } : { clsLogits, distLogits },
  );
  if (fusedLossesActive()) {
    return tf.tidy(() => {
      // Each head in one kernel, its weight in the kernel's scale: (1 − α)·base + α·dist.
      const hardCe = (logits: tf.Tensor2D, y: tf.Tensor, scale: number, w?: number[]) =>
        runFused('DistilleryCrossEntropy', { logits, labels: y }, { labelSmoothing: 0, weights: w ?? [], scale });
      const softCe = (logits: tf.Tensor2D, scale: number, w?: number[]) =>
        runFused(
          'DistillerySoftTargetCrossEntropy',
          { logits, targets: stopGradient(labels) },
          { weights: w ?? [], scale: scale / n },
        );
      const base = soft ? softCe(clsLogits, 1 - alpha) : hardCe(clsLogits, labels, 1 - alpha);
      let dist: tf.Scalar;
      if (type === 'none') {
        dist = soft ? softCe(distLogits, alpha, weights) : hardCe(distLogits, labels, alpha, weights);
      } else if (type === 'hard') {
        const teacherClass = tf.argMax(stopGradient(teacherLogits as tf.Tensor2D), 1);
        dist = hardCe(distLogits, teacherClass, alpha, weights);
      } else {
        const scale = (alpha * temperature * temperature) / (n * c);
        dist = runFused(
          'DistilleryKdLoss',
          { student: distLogits, teacher: stopGradient(teacherLogits as tf.Tensor2D) },
          { temperature, scale, weights: weights ?? [] },
        );
      }
      return tf.add(base, dist) as tf.Scalar;
    });
  }
  return tf.tidy(() => {
    const softCe = (logits: tf.Tensor2D, targets: tf.Tensor, w?: number[]) => {
      const weighted = w ? tf.mul(stopGradient(targets), tf.tensor1d(w, 'float32')) : stopGradient(targets);
      return tf.mean(tf.neg(tf.sum(tf.mul(weighted, tf.logSoftmax(logits)), 1)));
    };
    const base = soft
      ? softCe(clsLogits, labels)
      : weightedCrossEntropy(tf.logSoftmax(clsLogits) as tf.Tensor2D, oneHotFloat(labels as tf.Tensor1D, c));
    let dist: tf.Tensor;
    if (type === 'none') {
      dist = soft
        ? softCe(distLogits, labels, weights)
        : weightedCrossEntropy(
            tf.logSoftmax(distLogits) as tf.Tensor2D,
            oneHotFloat(labels as tf.Tensor1D, c),
            weights,
          );
    } else if (type === 'hard') {
      const teacher = stopGradient(teacherLogits as tf.Tensor2D);
      const targets = oneHotFloat(tf.argMax(teacher, 1) as tf.Tensor1D, c);
      dist = weightedCrossEntropy(tf.logSoftmax(distLogits) as tf.Tensor2D, targets, weights);
    } else {
      const teacher = stopGradient(teacherLogits as tf.Tensor2D);
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
