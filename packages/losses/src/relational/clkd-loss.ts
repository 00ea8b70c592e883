import { checkNumber, invalid, stopGradient, tf } from '@distillery/tensor';
import { type CheckFiniteOption, checkLogitPair, checkOptions, finiteCheck } from '../internal/checks';

/*
 * CLKD — Class-aware Logit KD (Zhang, Liu, Hopcroft, He, arXiv 2211.14773). The paper links no official code and the
 * reference card marks the formulas UNVERIFIED; the choices below follow the third-party (mdistiller-style)
 * re-implementations, which agree on the instance and class terms, and are all documented:
 *
 * - instance term: MSE between L2-row-normalised logits (F.normalize(z, dim=1), eps 1e-12; MSE = mean over entries);
 * - class term: the same on the transposed [C, N] logit matrix (each class column normalised over the batch);
 * - class correlation: B = (Z − mean_n Z)ᵀ(Z − mean_n Z) / (C − 1), a [C, C] matrix, and
 *   L_cc = ‖B_s − B_t‖_F / C²  (plain Frobenius norm, the variant most re-implementations use). `normalizer: 'batch'`
 *   divides by N − 1 (the sample covariance) and `squaredNorm: true` uses ‖·‖²_F, the two alternatives the card lists;
 * - weights: L = 0.5·L_ins + 1.0·L_cla + 0.4·L_cc, i.e. the re-implementation's 0.5·(L_ins + 2·L_cla) + 0.4·L_cc
 *   without its 0.1·CE (add the CE yourself).
 *
 * The teacher is detached everywhere. The Frobenius norm is computed as sqrt(Σ d² + 1e-30) so that its gradient is 0,
 * not NaN, when the student's matrix equals the teacher's (PyTorch's norm backward also gives 0 there).
 */

const NORMALIZE_EPS = 1e-12;

/**
 * F.normalize(x, p=2, dim=axis): x / max(‖x‖, 1e-12). The norm is sqrt(Σx² + 1e-30), so an all-zero row gets a zero
 * gradient instead of 0·∞ = NaN (PyTorch's norm backward is 0 there too); the value is unchanged in float32.
 */
function normalizeRows(x: tf.Tensor2D, axis: number): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(x), axis, true), 1e-30));
    return tf.div(x, tf.maximum(norm, NORMALIZE_EPS));
  }) as tf.Tensor2D;
}

/**
 * CLKD instance-level logit loss: MSE(rownorm(z_s), rownorm(z_t)), rows L2-normalised (arXiv 2211.14773; see the
 * module note for the choices). Teacher detached.
 *
 * @param student  float32 `[N, C]`
 * @param teacher  float32 `[N, C]`
 */
export function instanceLogitLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, options?: CheckFiniteOption): tf.Scalar {
  const { checkFinite } = checkOptions<CheckFiniteOption>(options);
  checkLogitPair(student, teacher);
  finiteCheck(checkFinite, { student, teacher });
  return tf.tidy(() =>
    tf.mean(tf.squaredDifference(normalizeRows(student, 1), normalizeRows(stopGradient(teacher), 1))),
  ) as tf.Scalar;
}

/**
 * CLKD class-level logit loss: MSE of the transposed logit matrices [C, N], each class column L2-normalised over the
 * batch (arXiv 2211.14773). Teacher detached.
 *
 * @param student  float32 `[N, C]`
 * @param teacher  float32 `[N, C]`
 */
export function classLogitLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, options?: CheckFiniteOption): tf.Scalar {
  const { checkFinite } = checkOptions<CheckFiniteOption>(options);
  checkLogitPair(student, teacher);
  finiteCheck(checkFinite, { student, teacher });
  return tf.tidy(() =>
    tf.mean(tf.squaredDifference(normalizeRows(student, 0), normalizeRows(stopGradient(teacher), 0))),
  ) as tf.Scalar;
}

export interface ClassCorrelationOptions extends CheckFiniteOption {
  /** 'classes' (default): divide B by C − 1, as the re-implementations do; 'batch': by N − 1 (sample covariance). */
  normalizer?: 'classes' | 'batch';
  /** Use ‖B_s − B_t‖²_F instead of ‖B_s − B_t‖_F. Default false. */
  squaredNorm?: boolean;
}

/**
 * CLKD class correlation loss (arXiv 2211.14773): B = (Z − mean_n Z)ᵀ(Z − mean_n Z) / (C − 1) per model, and
 * L_cc = ‖B_s − B_t‖_F / C². See the module note for the choices and the alternatives. Teacher detached.
 *
 * @param student  float32 `[N, C]` (C >= 2; N >= 2 with normalizer 'batch')
 * @param teacher  float32 `[N, C]`
 */
export function classCorrelationLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  options?: ClassCorrelationOptions,
): tf.Scalar {
  const { normalizer = 'classes', squaredNorm = false, checkFinite } = checkOptions<ClassCorrelationOptions>(options);
  if (normalizer !== 'classes' && normalizer !== 'batch') {
    throw invalid('INVALID_ARGUMENT', 'options.normalizer', "'classes' or 'batch'", JSON.stringify(normalizer));
  }
  const [n, c] = checkLogitPair(student, teacher, 2);
  if (normalizer === 'batch' && n < 2) {
    throw invalid('EMPTY_INPUT', 'student', 'at least 2 rows for the N − 1 normaliser', `N = ${n}`);
  }
  finiteCheck(checkFinite, { student, teacher });
  const denominator = normalizer === 'classes' ? c - 1 : n - 1;
  return tf.tidy(() => {
    const correlation = (z: tf.Tensor2D) => {
      const centered = tf.sub(z, tf.mean(z, 0, true)) as tf.Tensor2D;
      return tf.div(tf.matMul(centered, centered, true, false), denominator);
    };
    const diff = tf.sub(correlation(student), correlation(stopGradient(teacher)));
    const sumSquares = tf.sum(tf.square(diff));
    const norm = squaredNorm ? sumSquares : tf.sqrt(tf.add(sumSquares, 1e-30));
    return tf.div(norm, c * c) as tf.Scalar;
  });
}

export interface ClkdLossOptions extends ClassCorrelationOptions {
  /** Weight of the instance term. Default 0.5. */
  instanceWeight?: number;
  /** Weight of the class term. Default 1.0 (0.5 × 2.0 in the re-implementation). */
  classWeight?: number;
  /** Weight of the class correlation term. Default 0.4. */
  correlationWeight?: number;
}

/**
 * CLKD (arXiv 2211.14773): instanceWeight·L_ins + classWeight·L_cla + correlationWeight·L_cc, defaults 0.5, 1.0, 0.4.
 * The student CE is not included. See the module note: these formulas and weights are the documented choices of the
 * re-implementations (the paper has no official code).
 *
 * @param student  float32 `[N, C]`, C >= 2
 * @param teacher  float32 `[N, C]` (constant)
 */
export function clkdLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, options?: ClkdLossOptions): tf.Scalar {
  const opts = checkOptions<ClkdLossOptions>(options);
  const { instanceWeight = 0.5, classWeight = 1, correlationWeight = 0.4 } = opts;
  checkNumber(instanceWeight, 'options.instanceWeight');
  checkNumber(classWeight, 'options.classWeight');
  checkNumber(correlationWeight, 'options.correlationWeight');
  return tf.tidy(() => {
    const correlation = classCorrelationLoss(student, teacher, opts);
    const instance = instanceLogitLoss(student, teacher);
    const cls = classLogitLoss(student, teacher);
    return tf.addN([
      tf.mul(instance, instanceWeight),
      tf.mul(cls, classWeight),
      tf.mul(correlation, correlationWeight),
    ]);
  }) as tf.Scalar;
}
