import {
  assertFinite,
  assertLogits,
  assertShape,
  checkNumber,
  checkOptions,
  describeValue,
  invalid,
  tf,
} from '@distillery/tensor';

export interface ScpnetPseudoLabelOptions {
  /** Pseudo-positives per sample (`hard_k`; COCO 2, VOC 5, NUS-WIDE 6, CUB 31). Required. */
  hardK: number;
  /** Base threshold (`p_cutoff`), default 0.95. */
  pCutoff?: number;
}

export interface ScpnetPseudoLabels {
  /** ŷ: multi-hot float32 [N, C] (constant). */
  labels: tf.Tensor2D;
  /** Sample mask float32 [N] (constant). */
  mask: tf.Tensor1D;
  /** Per-class thresholds τ_c. */
  thresholds: Float64Array;
  /** Host copy of ŷ (0/1), to update the `selected_label` memory (`ScpnetLabelMemory.update`). */
  labelsHost: Uint8Array;
}

/**
 * SCPNet prior-enhanced pseudo-labels with class-wise adaptive thresholds for single-positive multi-label
 * recognition (jameslahm/SCPNet scpnet.py `SCPNetTrainer.consistency_loss`, commit d56341a):
 *
 *     p = σ(z_weak) (constant);   τ_c = p_cutoff·β_c / (2 − β_c)
 *     top = the hard_k largest classes of p
 *     mask_n = [∃ c ∈ top_n : p_nc ≥ τ_c]
 *     ŷ = 1 on top_n;  ŷ = 0 where p < τ;  ŷ = ŷ OR y_given
 */
export function scpnetPseudoLabels(
  weakLogits: tf.Tensor,
  givenLabels: tf.Tensor,
  classwiseAcc: ArrayLike<number>,
  options: ScpnetPseudoLabelOptions,
): ScpnetPseudoLabels {
  if (options === undefined) throw invalid('INVALID_ARGUMENT', 'options', 'an options object with hardK', 'undefined');
  const opts = checkOptions<ScpnetPseudoLabelOptions>(options, { hardK: true, pCutoff: true });
  const [n, c] = assertLogits(weakLogits, 'weakLogits', 2);
  assertFinite(weakLogits, 'weakLogits');
  assertShape(givenLabels, [n, c], 'givenLabels');
  const hardK = checkNumber(opts.hardK, 'options.hardK', { min: 1, max: c, integer: true });
  const pCutoff = opts.pCutoff === undefined ? 0.95 : checkNumber(opts.pCutoff, 'options.pCutoff', { min: 0, max: 1 });
  if (!classwiseAcc || classwiseAcc.length !== c) {
    throw invalid('SHAPE_MISMATCH', 'classwiseAcc', `${c} values`, describeValue(classwiseAcc));
  }
  const thresholds = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const b = checkNumber(classwiseAcc[j], `classwiseAcc[${j}]`, { min: 0, max: 1 });
    thresholds[j] = Math.fround(pCutoff * (b / (2 - b)));
  }
  const z = weakLogits.dataSync();
  const y = givenLabels.dataSync();
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0 && y[i] !== 1) {
      throw invalid('INVALID_ARGUMENT', 'givenLabels', 'multi-hot 0/1 values', `${y[i]} at flat index ${i}`);
    }
  }
  const labels = new Uint8Array(n * c);
  const mask = new Float32Array(n);
  const p = new Float32Array(c);
  const order = new Array<number>(c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      p[j] = 1 / (1 + Math.exp(-z[i * c + j]!));
      order[j] = j;
    }
    order.sort((a, b) => p[b]! - p[a]! || a - b);
    for (let t = 0; t < hardK; t++) {
      const j = order[t]!;
      labels[i * c + j] = 1;
      if (p[j]! >= thresholds[j]!) mask[i] = 1;
    }
    for (let j = 0; j < c; j++) {
      if (p[j]! < thresholds[j]!) labels[i * c + j] = 0;
      if (y[i * c + j]! !== 0) labels[i * c + j] = 1;
    }
  }
  return {
    labels: tf.tensor2d(Float32Array.from(labels), [n, c]),
    mask: tf.tensor1d(mask),
    thresholds,
    labelsHost: labels,
  };
}
