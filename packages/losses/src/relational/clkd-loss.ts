import { checkNumber, checkOptions, invalid, stopGradient, tf } from '@distillery/tensor';
import { type CheckFiniteOption, checkLogitPair, FINITE_SPEC, finiteCheck } from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';

/*
 * CLKD — Class-aware Logit KD (Zhang, Liu, Hopcroft, He, arXiv 2211.14773). The paper links no official code; its
 * abstract names an instance-level and a class-level logit distillation and a "Class Correlation Loss" that makes the
 * student learn the teacher's class-level correlation, without formulas we could check against code. These functions
 * follow the two public re-implementations, which agree on everything except the correlation matrix:
 *
 *   (A) HyunJunSik/StreamLined @e4ab795, Distiller/CLKD.py `CLKD_loss`:
 *       B = (Z − mean_n Z)ᵀ(Z − mean_n Z) / (C − 1), a [C, C] matrix;   L_cc = ‖B_s − B_t‖_F / C²
 *   (B) HyunJunSik/Malware-KD @7e37d07, distiller/CLKD.py `CLKD_loss`:
 *       B = Σ_j (z_j − mean z_j)(z_j − mean z_j)ᵀ / (C − 1), i.e. (Z − mean_n Z)(Z − mean_n Z)ᵀ / (C − 1), an [N, N]
 *       matrix (z_j the logit column of class j);                     L_cc = ‖B_s − B_t‖²_F / C²
 *
 * Both: L_ins = MSE(F.normalize(z_s, dim=1), F.normalize(z_t, dim=1)) (eps 1e-12, MSE = mean over entries);
 * L_cla = the same on the transposed [C, N] matrices; total 0.1·CE + 0.5·(L_ins + 2·L_cla) + 0.4·L_cc.
 *
 * Our choice: `correlation: 'class'` (A) is the default, because a class-by-class matrix is what "class-level
 * correlation" describes; `correlation: 'sample'` is (B), with its squared norm as its default. `squaredNorm` and
 * `normalizer: 'batch'` (N − 1, the sample covariance) let either matrix be combined with the other norm or
 * normaliser; neither re-implementation uses 'batch'. clkdLoss = 0.5·L_ins + 1.0·L_cla + 0.4·L_cc, the
 * re-implementations' KD part without their 0.1·CE (add the CE yourself, at weight 0.1 to match them).
 *
 * The teacher is detached everywhere.
 *
 * Numerics, at any logit magnitude the float32 result can represent: the normalisations divide each row (column) by
 * its largest |value| first (a detached constant: F.normalize's value and gradient are unchanged), so |z| ~ 1e20 does
 * not overflow the sum of squares. The correlation term is computed on logits divided by m = max(|z_s|, |z_t|) and
 * scaled back by m² (m⁴ for the squared norm), with its gradient written out, so it is exact (0 for equal inputs)
 * and finite wherever the true value is; a value beyond float32's range (e.g. ~1e56 at |z| ~ 1e30) is +Infinity,
 * never NaN. The norm's gradient at B_s = B_t is 0 (as PyTorch's).
 */

const NORMALIZE_EPS = 1e-12;

/**
 * F.normalize(x, p=2, dim=axis): x / max(‖x‖, 1e-12), computed as (x/s) / max(‖x/s‖, 1e-12/s) with s the largest |x|
 * of the row (a detached constant; 1 for an all-zero row), so the squares never overflow.
 */
function normalizeRows(x: tf.Tensor2D, axis: number): tf.Tensor2D {
  return tf.tidy(() => {
    const largest = stopGradient(tf.max(tf.abs(x), axis, true));
    const s = tf.where(tf.greater(largest, 0), largest, tf.onesLike(largest));
    const scaled = tf.div(x, s);
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(scaled), axis, true), 1e-30));
    return tf.div(scaled, tf.maximum(norm, tf.div(NORMALIZE_EPS, s)));
  }) as tf.Tensor2D;
}

/**
 * CLKD instance-level logit loss: MSE(rownorm(z_s), rownorm(z_t)), rows L2-normalised (arXiv 2211.14773; see the
 * module note for the re-implementations it follows). Teacher detached.
 *
 * @param student  float32 `[N, C]`
 * @param teacher  float32 `[N, C]`
 */
export function instanceLogitLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, options?: CheckFiniteOption): tf.Scalar {
  const { checkFinite } = checkOptions<CheckFiniteOption>(options, FINITE_SPEC);
  checkLogitPair(student, teacher);
  finiteCheck(checkFinite, { student, teacher });
  if (fusedLossesActive()) return logitTerms(student, teacher, 1, 0);
  return tf.tidy(() =>
    tf.mean(tf.squaredDifference(normalizeRows(student, 1), normalizeRows(stopGradient(teacher), 1))),
  ) as tf.Scalar;
}

/**
 * CLKD class-level logit loss: MSE of the transposed logit matrices [C, N], each class column L2-normalised over the
 * batch (arXiv 2211.14773; see the module note). Teacher detached.
 *
 * @param student  float32 `[N, C]`
 * @param teacher  float32 `[N, C]`
 */
export function classLogitLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, options?: CheckFiniteOption): tf.Scalar {
  const { checkFinite } = checkOptions<CheckFiniteOption>(options, FINITE_SPEC);
  checkLogitPair(student, teacher);
  finiteCheck(checkFinite, { student, teacher });
  if (fusedLossesActive()) return logitTerms(student, teacher, 0, 1);
  return tf.tidy(() =>
    tf.mean(tf.squaredDifference(normalizeRows(student, 0), normalizeRows(stopGradient(teacher), 0))),
  ) as tf.Scalar;
}

/**
 * instanceWeight·L_ins + classWeight·L_cla in one fused kernel (cpu, wasm): both normalisations, MSEs and the gradient
 * in one float64 pass over the logits (no rescaling needed: float64 squares of float32 values cannot overflow).
 */
function logitTerms(student: tf.Tensor2D, teacher: tf.Tensor2D, instanceWeight: number, classWeight: number) {
  return tf.tidy(() =>
    runFused('DistilleryClkdLogitLoss', { student, teacher: stopGradient(teacher) }, { instanceWeight, classWeight }),
  );
}

export interface ClassCorrelationOptions extends CheckFiniteOption {
  /**
   * Which correlation matrix: 'class' (default) the [C, C] matrix ZᶜᵀZᶜ (HyunJunSik/StreamLined), 'sample' the
   * [N, N] matrix ZᶜZᶜᵀ (HyunJunSik/Malware-KD); Zᶜ = Z − mean_n Z. See the module note.
   */
  correlation?: 'class' | 'sample';
  /** 'classes' (default): divide B by C − 1, as both re-implementations do; 'batch': by N − 1 (sample covariance). */
  normalizer?: 'classes' | 'batch';
  /** ‖B_s − B_t‖²_F instead of ‖B_s − B_t‖_F. Default false for 'class', true for 'sample' (each as its source). */
  squaredNorm?: boolean;
}

/**
 * CLKD class correlation loss (arXiv 2211.14773): B = ZᶜᵀZᶜ / (C − 1) ('class', [C, C]) or ZᶜZᶜᵀ / (C − 1)
 * ('sample', [N, N]) per model, Zᶜ = Z − mean_n Z, and L_cc = ‖B_s − B_t‖_F / C² (squared norm by default for
 * 'sample'). See the module note for the sources and the numerics. Teacher detached.
 *
 * @param student  float32 `[N, C]` (C >= 2; N >= 2 with normalizer 'batch')
 * @param teacher  float32 `[N, C]`
 */
export function classCorrelationLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  options?: ClassCorrelationOptions,
): tf.Scalar {
  const opts = checkOptions<ClassCorrelationOptions>(options, {
    correlation: ['class', 'sample'],
    normalizer: ['classes', 'batch'],
    squaredNorm: [true, false],
    ...FINITE_SPEC,
  });
  return correlationTerm(student, teacher, opts);
}

function correlationTerm(student: tf.Tensor2D, teacher: tf.Tensor2D, options: ClassCorrelationOptions): tf.Scalar {
  const { correlation = 'class', normalizer = 'classes', checkFinite } = options;
  const squaredNorm = options.squaredNorm ?? correlation === 'sample';
  const [n, c] = checkLogitPair(student, teacher, 2);
  if (normalizer === 'batch' && n < 2) {
    throw invalid('EMPTY_INPUT', 'student', 'at least 2 rows for the N − 1 normaliser', `N = ${n}`);
  }
  finiteCheck(checkFinite, { student, teacher });
  const denominator = normalizer === 'classes' ? c - 1 : n - 1;
  const byClass = correlation === 'class';
  // B = DᵀD or DDᵀ (unnormalised), and the gradient of ⟨G, B⟩ with respect to D for a symmetric G.
  const gram = (d: tf.Tensor2D) => (byClass ? tf.matMul(d, d, true, false) : tf.matMul(d, d, false, true));
  const pullBack = (d: tf.Tensor2D, g: tf.Tensor2D) => (byClass ? tf.matMul(d, g) : tf.matMul(g, d));
  const forward = (z: tf.Tensor, t: tf.Tensor, save: tf.GradSaveFunc) => {
    const largest = tf.maximum(tf.max(tf.abs(z)), tf.max(tf.abs(t)));
    const m = tf.where(tf.greater(largest, 0), largest, tf.onesLike(largest));
    const center = (x: tf.Tensor) => {
      const scaled = tf.div(x, m);
      return tf.sub(scaled, tf.mean(scaled, 0, true)) as tf.Tensor2D;
    };
    const ds = center(z);
    // The [C, C] (or [N, N]) matrices are the costly part: one subtraction and one sum of squares touch them; the
    // denominator and every other scalar are applied to the norm, or to the [N, C] pullback in the gradient.
    const diff = tf.sub(gram(ds), gram(center(t))); // den·(B_s − B_t) / m²
    const r = tf.div(tf.sqrt(tf.sum(tf.square(diff))), denominator); // ‖B_s − B_t‖ / m²
    // value: (m·√r)² = m²·r, or its square; 0 when r = 0; +Infinity only where the true value overflows.
    const root = tf.mul(m, tf.sqrt(r));
    const norm = tf.square(root);
    const value = tf.div(squaredNorm ? tf.square(norm) : norm, c * c);
    save([ds, diff, r, m]);
    return {
      value: value as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dScaled, dDiff, dR, dM] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Scalar, tf.Scalar];
        // d‖E‖/dE = E/‖E‖ (0 at E = 0); d‖E‖²/dE = 2E. With E = m²·dDiff/den and D = m·dScaled:
        //   plain:   dL/dD = 2·m·dScaled·dDiff / (den·r·den·C²)
        //   squared: dL/dD = 4·m³·dScaled·dDiff / (den²·C²)
        // The division by r comes after the pullback, on [N, C] values (never 0/0 or a 1/r overflow on [C, C]).
        let gradD = pullBack(dScaled, dDiff);
        if (squaredNorm) gradD = tf.mul(gradD, 4 / (denominator * denominator * c * c));
        else {
          const positive = tf.greater(dR, 0);
          const safeR = tf.where(positive, dR, tf.onesLike(dR));
          gradD = tf.where(positive, tf.div(gradD, tf.mul(safeR, (denominator * denominator * c * c) / 2)), 0);
        }
        // m is applied factor by factor, so a zero entry stays 0 (never ∞·0) and only a truly huge gradient overflows.
        for (let power = squaredNorm ? 3 : 1; power > 0; power--) gradD = tf.mul(gradD, dM);
        const gradZ = tf.sub(gradD, tf.mean(gradD, 0, true)); // through the centring
        return [tf.mul(gradZ, dy), tf.zerosLike(dScaled)];
      },
    };
  };
  const term = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return tf.tidy(() => term(student, stopGradient(teacher)) as tf.Scalar);
}

export interface ClkdLossOptions extends ClassCorrelationOptions {
  /** Weight of the instance term (>= 0). Default 0.5. */
  instanceWeight?: number;
  /** Weight of the class term (>= 0). Default 1.0 (0.5 × 2.0 in the re-implementations). */
  classWeight?: number;
  /** Weight of the class correlation term (>= 0). Default 0.4. */
  correlationWeight?: number;
}

/**
 * CLKD (arXiv 2211.14773): instanceWeight·L_ins + classWeight·L_cla + correlationWeight·L_cc, defaults 0.5, 1.0, 0.4.
 * The student CE is not included (the re-implementations add 0.1·CE). See the module note: these formulas and weights
 * are the re-implementations' (the paper has no official code); `correlation` picks between their two matrices.
 *
 * @param student  float32 `[N, C]`, C >= 2
 * @param teacher  float32 `[N, C]` (constant)
 */
export function clkdLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, options?: ClkdLossOptions): tf.Scalar {
  const opts = checkOptions<ClkdLossOptions>(options, {
    instanceWeight: true,
    classWeight: true,
    correlationWeight: true,
    correlation: ['class', 'sample'],
    normalizer: ['classes', 'batch'],
    squaredNorm: [true, false],
    ...FINITE_SPEC,
  });
  const { instanceWeight = 0.5, classWeight = 1, correlationWeight = 0.4 } = opts;
  checkNumber(instanceWeight, 'options.instanceWeight', { min: 0 });
  checkNumber(classWeight, 'options.classWeight', { min: 0 });
  checkNumber(correlationWeight, 'options.correlationWeight', { min: 0 });
  return tf.tidy(() => {
    const correlation = correlationTerm(student, teacher, opts);
    if (fusedLossesActive()) {
      return tf.add(logitTerms(student, teacher, instanceWeight, classWeight), tf.mul(correlation, correlationWeight));
    }
    const instance = instanceLogitLoss(student, teacher);
    const cls = classLogitLoss(student, teacher);
    return tf.addN([
      tf.mul(instance, instanceWeight),
      tf.mul(cls, classWeight),
      tf.mul(correlation, correlationWeight),
    ]);
  }) as tf.Scalar;
}
