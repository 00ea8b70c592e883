import { assertFinite, assertLogits, checkNumber, checkOptions, stopGradient, tf } from '@distillery/tensor';

export interface TeacherSoftLabelOptions {
  /** T in softmax(z_t / T). Default 1 (mdistiller CIFAR-100 KD uses 4, cls_KD CIFAR uses 3). */
  temperature?: number;
  /** Opt-in: throw a NON_FINITE DistilleryError if the logits hold NaN or ±Infinity (reads the data back). */
  checkFinite?: boolean;
}

/**
 * Teacher soft labels p_t = softmax(z_t / T) (Hinton et al., arXiv 1503.02531), as a constant target: the result is
 * detached from `teacher`, as a frozen teacher's outputs are in every reference.
 *
 * @param teacher  float32 logits `[N, C]`
 * @returns float32 `[N, C]`
 */
export function teacherSoftLabels(teacher: tf.Tensor2D, options?: TeacherSoftLabelOptions): tf.Tensor2D {
  const { temperature = 1, checkFinite = false } = checkOptions<TeacherSoftLabelOptions>(options, {
    temperature: true,
    checkFinite: true,
  });
  assertLogits(teacher, 'teacher');
  checkNumber(temperature, 'options.temperature', { min: 0, minExclusive: true });
  if (checkFinite) assertFinite(teacher, 'teacher');
  return tf.tidy(() => tf.softmax(tf.div(stopGradient(teacher), temperature))) as tf.Tensor2D;
}
