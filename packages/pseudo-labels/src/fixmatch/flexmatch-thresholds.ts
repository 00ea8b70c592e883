import { assertLogits, checkNumber, checkOptions, describeValue, invalid, type tf } from '@distillery/tensor';
import { type ConfidencePseudoLabels, confidencePseudoLabels } from './confidence-pseudo-labels';

export interface FlexMatchOptions {
  /** Base threshold τ (`p_cutoff`), default 0.95. */
  threshold?: number;
  /** Warm-up normaliser max(max_c σ_c, N_U − Σσ) (default true) or max_c σ_c. */
  warmup?: boolean;
  /** Threshold mapping M: 'convex' x/(2 − x) (default) or 'linear' x. */
  mapping?: 'convex' | 'linear';
}

/**
 * FlexMatch class-wise adaptive thresholds (Zhang et al. 2021, arXiv 2110.08263; TorchSSL `flexmatch.py`) over a
 * per-sample memory `selected[i]` ∈ {−1 (none), 0 … C−1} of the unlabeled set:
 *
 *     σ_c = #{i : selected_i = c}
 *     β_c = σ_c / max(max_c σ_c, N_U − Σ_c σ_c)       (warm-up; without warm-up: σ_c / max_c σ_c)
 *     τ_c = M(β_c)·τ,   M(x) = x/(2 − x)  (convex)
 *
 * β is only recomputed while some σ is below N_U, as the reference (`max(pseudo_counter.values()) < len(ulb)`);
 * it starts at 0, so τ_c = 0 before any sample is selected. `update` writes argmax q into the memory for the
 * batch samples with max q > τ (the fixed base threshold), as the reference does after computing the mask.
 */
export class FlexMatchThresholds {
  readonly numUnlabeled: number;
  readonly numClasses: number;
  readonly threshold: number;
  readonly warmup: boolean;
  readonly mapping: 'convex' | 'linear';
  readonly selected: Int32Array;
  readonly classwiseAcc: Float64Array;

  constructor(numUnlabeled: number, numClasses: number, options?: FlexMatchOptions) {
    const opts = checkOptions<FlexMatchOptions>(options, {
      threshold: true,
      warmup: true,
      mapping: ['convex', 'linear'],
    });
    this.numUnlabeled = checkNumber(numUnlabeled, 'numUnlabeled', { min: 1, integer: true });
    this.numClasses = checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
    this.threshold =
      opts.threshold === undefined ? 0.95 : checkNumber(opts.threshold, 'options.threshold', { min: 0, max: 1 });
    if (opts.warmup !== undefined && typeof opts.warmup !== 'boolean') {
      throw invalid('INVALID_ARGUMENT', 'options.warmup', 'a boolean', describeValue(opts.warmup));
    }
    this.warmup = opts.warmup ?? true;
    this.mapping = opts.mapping ?? 'convex';
    this.selected = new Int32Array(this.numUnlabeled).fill(-1);
    this.classwiseAcc = new Float64Array(this.numClasses);
  }

  /** Recomputes β_c from the memory (the reference does this at the start of every train step). */
  refresh(): Float64Array {
    const counts = new Float64Array(this.numClasses);
    let unused = 0;
    for (const s of this.selected) {
      if (s < 0) unused++;
      else counts[s]!++;
    }
    let maxCount = 0;
    for (const v of counts) maxCount = Math.max(maxCount, v);
    if (Math.max(maxCount, unused) < this.numUnlabeled) {
      const denom = this.warmup ? Math.max(maxCount, unused) : maxCount;
      for (let c = 0; c < this.numClasses; c++) this.classwiseAcc[c] = counts[c]! / denom;
    }
    return this.classwiseAcc;
  }

  /** τ_c = M(β_c)·τ for the current β. */
  thresholds(): Float64Array {
    return this.classwiseAcc.map((b) => this.threshold * (this.mapping === 'convex' ? b / (2 - b) : b));
  }

  /**
   * One step: refresh β, pseudo-label the batch with τ_c, then record confident predictions of the samples
   * `indices` (positions in the unlabeled set). Returns the pseudo-labels (caller disposes labels and mask).
   */
  step(weakLogits: tf.Tensor, indices: ArrayLike<number>): ConfidencePseudoLabels {
    const [n] = assertLogits(weakLogits, 'weakLogits', 2);
    if (weakLogits.shape[1] !== this.numClasses) {
      throw invalid('SHAPE_MISMATCH', 'weakLogits', `[N, ${this.numClasses}]`, `[${n}, ${weakLogits.shape[1]}]`);
    }
    if (!indices || indices.length !== n) {
      throw invalid('SHAPE_MISMATCH', 'indices', `${n} sample indices`, describeValue(indices));
    }
    for (let i = 0; i < n; i++) {
      const v = indices[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= this.numUnlabeled) {
        throw invalid('OUT_OF_RANGE', 'indices', `integers in [0, ${this.numUnlabeled})`, `${v} at position ${i}`);
      }
    }
    this.refresh();
    const out = confidencePseudoLabels(weakLogits, { classThresholds: this.thresholds() });
    for (let i = 0; i < n; i++) {
      if (out.maxProbs[i]! >= this.threshold) this.selected[indices[i]!] = out.argmax[i]!;
    }
    return out;
  }
}
