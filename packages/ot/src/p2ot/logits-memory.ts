import { assertLogits, checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';

/**
 * Ring buffer of logits on which P²OT is solved (rhfeiyang/PPOT utils/memory.py `LogitsMemory`; size 10 × batch =
 * 5,120 in the official runs). Stored on the host (float32), so it holds no tensors and cannot leak.
 *
 * - `update(logits)` (enqueue) writes rows at `index … index + B − 1` (mod size) and advances `index`.
 * - `update(logits, { enqueue: false })` first moves `index` back by B, i.e. overwrites the slots the previous
 *   call wrote (view 1 replaces view 0), then advances again.
 * - `batchRows(B)` are the bank rows of the most recent batch: [index − B, index), or the last B rows when index
 *   has wrapped to 0 — the rows of the plan that are the current batch's pseudo-labels.
 */
export class LogitsMemory {
  readonly size: number;
  readonly dim: number;
  readonly memory: Float32Array;
  index = 0;
  /** Rows written so far (capped at size); the bank is full once filled === size. */
  filled = 0;

  constructor(dim: number, size = 5120) {
    this.dim = checkNumber(dim, 'dim', { min: 1, integer: true });
    this.size = checkNumber(size, 'size', { min: 1, integer: true });
    this.memory = new Float32Array(this.size * this.dim);
  }

  update(logits: tf.Tensor, options: { enqueue?: boolean } = {}): number {
    const [b, c] = assertLogits(logits, 'logits', 1);
    if (c !== this.dim) throw invalid('SHAPE_MISMATCH', 'logits', `[B, ${this.dim}]`, `[${b}, ${c}]`);
    if (b > this.size) throw invalid('OUT_OF_RANGE', 'logits', `at most ${this.size} rows (bank size)`, `${b} rows`);
    const enqueue = checkOptions<{ enqueue?: boolean }>(options, { enqueue: true }).enqueue ?? true;
    if (typeof enqueue !== 'boolean') {
      throw invalid('INVALID_ARGUMENT', 'options.enqueue', 'a boolean', describeValue(enqueue));
    }
    if (!enqueue) this.index = (((this.index - b) % this.size) + this.size) % this.size;
    const data = logits.dataSync();
    for (let r = 0; r < b; r++) {
      const slot = (this.index + r) % this.size;
      this.memory.set(data.subarray(r * c, (r + 1) * c), slot * c);
    }
    if (enqueue) this.filled = Math.min(this.size, this.filled + b);
    this.index = (this.index + b) % this.size;
    return this.index;
  }

  /** The bank as a float32 [size, dim] tensor (caller disposes). */
  tensor(): tf.Tensor2D {
    return tf.tensor2d(this.memory, [this.size, this.dim]);
  }

  /** [start, end) of the most recent batch of `batchSize` rows. */
  batchRows(batchSize: number): [number, number] {
    checkNumber(batchSize, 'batchSize', { min: 1, max: this.size, integer: true });
    return this.index === 0 ? [this.size - batchSize, this.size] : [this.index - batchSize, this.index];
  }

  /** The rows of a bank-sized plan [size, K] that belong to the most recent batch (caller disposes). */
  sliceBatch(plan: tf.Tensor, batchSize: number): tf.Tensor2D {
    if (plan.rank !== 2 || plan.shape[0] !== this.size) {
      throw invalid('SHAPE_MISMATCH', 'plan', `[${this.size}, K]`, `shape [${plan.shape.join(', ')}]`);
    }
    const [start, end] = this.batchRows(batchSize);
    return tf.slice(plan as tf.Tensor2D, [start, 0], [end - start, plan.shape[1]!]);
  }
}
