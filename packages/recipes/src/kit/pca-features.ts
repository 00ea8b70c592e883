import { pca } from '@distillery/data';
import { checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';

/** What pcaFeatures reads from a dataset: its size and a batch of images (an InMemoryDataset of @distillery/data). */
export interface ImageDataset {
  readonly length: number;
  batch(indices: ArrayLike<number>): { images: tf.Tensor; labels?: tf.Tensor };
}

export interface PcaFeaturesOptions {
  /** Dimensions kept (1 ≤ components ≤ the pixels per image). */
  components: number;
}

export interface PcaFeatures {
  /** [N, components], one row per image in dataset order; the caller disposes it. */
  features: tf.Tensor2D;
  /** Share of the pixel variance the kept components explain. */
  explainedVariance: number;
}

/**
 * Fixed, unsupervised features of a small image set: every image's pixels flattened, then the PCA (`pca` of
 * @distillery/data, fitted on the set itself, no labels) to `components` dimensions. A stand-in for a frozen
 * backbone's features when clustering or probing at toy scale.
 *
 *     const { features, explainedVariance } = pcaFeatures(train, { components: 16 }); // features [N, 16]
 */
export function pcaFeatures(dataset: ImageDataset, options: PcaFeaturesOptions): PcaFeatures {
  const { components } = checkOptions<PcaFeaturesOptions>(options ?? null, { components: true });
  if (!dataset || typeof dataset.batch !== 'function' || !Number.isInteger(dataset.length)) {
    throw invalid('INVALID_ARGUMENT', 'dataset', 'a dataset with length and batch(indices)', describeValue(dataset));
  }
  checkNumber(components, 'options.components', { min: 1, integer: true });
  const n = dataset.length;
  if (n < 2) throw invalid('INVALID_ARGUMENT', 'dataset', 'at least 2 images (PCA needs a covariance)', `${n}`);
  const batch = dataset.batch(Int32Array.from({ length: n }, (_, i) => i));
  const pixels = tf.reshape(batch.images, [n, -1]);
  batch.images.dispose();
  batch.labels?.dispose();
  try {
    const { projected, explainedVarianceRatio } = pca(pixels, { components });
    return { features: projected as tf.Tensor2D, explainedVariance: explainedVarianceRatio };
  } finally {
    pixels.dispose();
  }
}
