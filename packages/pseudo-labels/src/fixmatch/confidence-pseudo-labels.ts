import { assertFinite, assertLogits, checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';

export interface ConfidencePseudoLabelOptions {
  /** Confidence threshold τ (FixMatch `p_cutoff`), default 0.95. Ignored where `classThresholds` is given. */
  threshold?: number;
  /** Per-class thresholds τ_c (FlexMatch / SCPNet); a sample is kept when max q ≥ τ_{argmax q}. */
  classThresholds?: ArrayLike<number>;
}

export interface ConfidencePseudoLabels {
  /** ŷ = argmax softmax(weak), int32 [N] (constant). */
  labels: tf.Tensor1D;
  /** m = [max q ≥ τ(ŷ)], float32 [N] (constant). */
  mask: tf.Tensor1D;
  /** max q per sample, host copy. */
  maxProbs: Float32Array;
  /** argmax per sample, host copy. */
  argmax: Int32Array;
}

/**
 * FixMatch confidence-threshold pseudo-labels (Sohn et al. 2020, arXiv 2001.07685), optionally with FlexMatch
 * class-wise thresholds (arXiv 2110.08263):
 *
 *     q = softmax(z_weak) (constant);  ŷ = argmax q;  m = [max q ≥ τ]   (τ = τ_ŷ with class thresholds)
 *
 * Built from read-back values, so nothing here is differentiated. Default τ 0.95.
 */
export function confidencePseudoLabels(
  weakLogits: tf.Tensor,
  options?: ConfidencePseudoLabelOptions,
): ConfidencePseudoLabels {
  const opts = checkOptions<ConfidencePseudoLabelOptions>(options, { threshold: true, classThresholds: true });
  const [n, c] = assertLogits(weakLogits, 'weakLogits', 2);
  assertFinite(weakLogits, 'weakLogits');
  const tau =
    opts.threshold === undefined ? 0.95 : checkNumber(opts.threshold, 'options.threshold', { min: 0, max: 1 });
  const classTau = opts.classThresholds;
  if (classTau !== undefined) {
    if (!classTau || typeof classTau.length !== 'number' || classTau.length !== c) {
      throw invalid('SHAPE_MISMATCH', 'options.classThresholds', `${c} thresholds`, describeValue(classTau));
    }
    for (let j = 0; j < c; j++) checkNumber(classTau[j], `options.classThresholds[${j}]`, { min: 0, max: 1 });
  }
  const z = weakLogits.dataSync();
  const maxProbs = new Float32Array(n);
  const argmax = new Int32Array(n);
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < c; j++) {
      if (z[i * c + j]! > m) {
        m = z[i * c + j]!;
        best = j;
      }
    }
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(z[i * c + j]! - m);
    const p = 1 / s;
    maxProbs[i] = p;
    argmax[i] = best;
    const t = classTau ? classTau[best]! : tau;
    mask[i] = Math.fround(p) >= t ? 1 : 0;
  }
  return { labels: tf.tensor1d(argmax, 'int32'), mask: tf.tensor1d(mask), maxProbs, argmax };
}
