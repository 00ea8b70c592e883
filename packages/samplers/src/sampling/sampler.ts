/**
 * An epoch-indexed sampler: `indices(epoch)` is a pure function of the seed and the epoch, so a run resumed at epoch
 * e draws exactly the order an uninterrupted run would have drawn.
 */
export interface Sampler {
  /** Number of indices each epoch yields. */
  readonly length: number;
  /** The dataset indices of epoch `epoch` (0-based), in visiting order. */
  indices(epoch: number): Int32Array;
}
