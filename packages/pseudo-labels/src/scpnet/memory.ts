import { checkNumber, checkOptions, describeValue, invalid } from '@distillery/tensor';
import { scpnetClasswiseAcc } from './classwise-acc';

export interface ScpnetLabelMemoryOptions {
  /** Pseudo-positives per sample (`hard_k`). Required. */
  hardK: number;
}

/**
 * SCPNet's per-sample pseudo-label memory `selected_label` [N_train, C] and class-wise learning status β
 * (jameslahm/SCPNet scpnet.py `SCPNetTrainer`, commit d56341a), on the host:
 *
 * - `refresh()` at the start of a step: β from the memory's per-class counts (`scpnetClasswiseAcc`; kept while
 *   the memory is empty, initially 1/C);
 * - `update(indices, labels)` after the pseudo-labels: `selected_label[idx[r]] = ŷ[r]` for every row r with at
 *   least one positive (`select_mask = labels.sum(dim=1) >= 1`). ŷ always holds the given positive, so in single
 *   positive training every row of the batch is written, whether or not its confidence mask is on.
 */
export class ScpnetLabelMemory {
  readonly numTrain: number;
  readonly numClasses: number;
  readonly hardK: number;
  /** selected_label, row-major [numTrain, C] of 0/1. */
  readonly selected: Uint8Array;
  /** β_c, the class-wise learning status of the last `refresh`. */
  classwiseAcc: Float64Array;

  constructor(numTrain: number, numClasses: number, options: ScpnetLabelMemoryOptions) {
    const opts = checkOptions<ScpnetLabelMemoryOptions>(options, { hardK: true }, 'options');
    this.numTrain = checkNumber(numTrain, 'numTrain', { min: 1, integer: true });
    this.numClasses = checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
    this.hardK = checkNumber(opts.hardK, 'options.hardK', { min: 1, max: this.numClasses, integer: true });
    this.selected = new Uint8Array(this.numTrain * this.numClasses);
    this.classwiseAcc = new Float64Array(this.numClasses).fill(1 / this.numClasses);
  }

  /** Per-class counts Σ_i selected_label[i, c]. */
  counts(): Float64Array {
    const c = this.numClasses;
    const counts = new Float64Array(c);
    for (let i = 0; i < this.selected.length; i++) counts[i % c]! += this.selected[i]!;
    return counts;
  }

  /** Recomputes β from the memory (the start of `SCPNetTrainer.train`) and returns it. */
  refresh(): Float64Array {
    this.classwiseAcc = scpnetClasswiseAcc(this.counts(), {
      hardK: this.hardK,
      numTrain: this.numTrain,
      previous: this.classwiseAcc,
    });
    return this.classwiseAcc;
  }

  /**
   * Writes the batch's pseudo-labels ŷ (`labelsHost` of `scpnetPseudoLabels`, row-major [B, C] of 0/1) into the
   * rows `indices` (positions in the training set) that have at least one positive. Returns how many rows were
   * written.
   */
  update(indices: ArrayLike<number>, labels: ArrayLike<number>): number {
    const c = this.numClasses;
    if (!indices || typeof indices.length !== 'number' || indices.length < 1) {
      throw invalid('INVALID_ARGUMENT', 'indices', 'at least one training-set index', describeValue(indices));
    }
    const b = indices.length;
    if (!labels || labels.length !== b * c) {
      throw invalid(
        'SHAPE_MISMATCH',
        'labels',
        `${b}·${c} = ${b * c} values (row-major [B, C])`,
        describeValue(labels),
      );
    }
    for (let r = 0; r < b; r++) {
      const idx = indices[r]!;
      if (!Number.isInteger(idx) || idx < 0 || idx >= this.numTrain) {
        throw invalid('OUT_OF_RANGE', 'indices', `integers in [0, ${this.numTrain})`, `${idx} at position ${r}`);
      }
    }
    for (let i = 0; i < b * c; i++) {
      if (labels[i] !== 0 && labels[i] !== 1) {
        throw invalid('INVALID_ARGUMENT', 'labels', '0/1 values', `${labels[i]} at flat index ${i}`);
      }
    }
    let written = 0;
    for (let r = 0; r < b; r++) {
      let any = 0;
      for (let j = 0; j < c; j++) any += labels[r * c + j]!;
      if (any < 1) continue;
      const row = indices[r]! * c;
      for (let j = 0; j < c; j++) this.selected[row + j] = labels[r * c + j]!;
      written++;
    }
    return written;
  }
}
