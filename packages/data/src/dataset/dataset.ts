import type { tf } from '@distillery/tensor';

/** One sample: an image [H, W, C] float32 tensor (the caller disposes it) and its class label. */
export interface Sample {
  image: tf.Tensor3D;
  label: number;
}

/** A batch: images [B, H, W, C] float32 and labels [B] int32 (the caller disposes both). */
export interface Batch {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
}

/**
 * A labelled image dataset usable in Node and browsers. `get` and `batch` allocate tensors the caller owns; `label`
 * and `labels` are cheap host reads (samplers and long-tail subsets need only these).
 */
export interface ImageDataset {
  readonly length: number;
  /** Image shape [H, W, C]. */
  readonly imageShape: readonly [number, number, number];
  readonly classNames: readonly string[];
  label(index: number): number;
  /** All labels, index-aligned. */
  labels(): Int32Array;
  /** Samples per class, `classCounts()[c]`. */
  classCounts(): number[];
  get(index: number): Sample;
  /** The samples at `indices` stacked into one batch. */
  batch(indices: ArrayLike<number>): Batch;
}
