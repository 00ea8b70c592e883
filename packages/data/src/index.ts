/**
 * @distillery/data — datasets for tfjs in Node and browsers: the shipped UCI optical digits, IDX files (MNIST,
 * Fashion-MNIST) and long-tailed subsets, an in-memory dataset
 * interface with tensor batches, and seeded batched augmentation (crop, flip, rotation, colour jitter, cutout,
 * RandAugment, mixup/cutmix, weak/strong views) that gives the same images on every backend.
 */

export { autoAugmentCifar10, CIFAR10_POLICY } from './augment/auto-augment';
export {
  type ColorJitterOptions,
  colorJitter,
  cutout,
  normalize,
  randomCrop,
  randomHorizontalFlip,
  randomRotation,
} from './augment/basic';
export { type MixupCutmixOptions, type MixupCutmixResult, mixupCutmix } from './augment/mixup';
export { RAND_AUGMENT_OPS, type RandAugmentOp, type RandAugmentOptions, randAugment } from './augment/rand-augment';
export { type WeakStrongOptions, weakStrongViews } from './augment/views';
export { epochBatches } from './dataset/batches';
export type { Batch, ImageDataset, Sample } from './dataset/dataset';
export { InMemoryDataset, type InMemoryDatasetOptions } from './dataset/in-memory-dataset';
export { headMidTail, type LongTailOptions, type LongTailResult, longTail } from './dataset/long-tail';
export { type StratifiedSplit, stratifiedSplit, stratifiedSubset } from './dataset/stratified-split';
export { loadDigits } from './digits/load-digits';
export { type PcaOptions, type PcaResult, pca } from './features/pca';
export { composedDigits, type MultiLabelDataset } from './generators/composed-digits';
export { type FewShotEpisode, type FewShotEpisodeOptions, fewShotEpisode } from './generators/few-shot';
export {
  type HyperspectralLidarOptions,
  type HyperspectralLidarSet,
  hyperspectralLidar,
} from './generators/hyperspectral-lidar';
export { encodeMetaInformation, type MetaInformation, metaInformation } from './generators/meta-information';
export {
  DIGIT_SCENES,
  FASHION_SCENES,
  type SceneDigitsDataset,
  type SceneDigitsOptions,
  type SceneImagesOptions,
  sceneDigits,
  sceneImages,
} from './generators/scene-digits';
export { type SyntheticLongTailOptions, syntheticLongTail } from './generators/synthetic-long-tail';
export {
  CIFAR10_CLASSES,
  type CifarOptions,
  type CifarVariant,
  cifarFiles,
  loadCifar,
  parseCifar,
} from './loaders/cifar';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_ROOT,
  type FashionMnistOptions,
  fashionMnistFiles,
  loadFashionMnist,
} from './loaders/fashion-mnist';
export {
  decodeIdx,
  gunzipIfNeeded,
  type IdxArray,
  type IdxDatasetOptions,
  type IdxSource,
  idxDataset,
  isGzip,
  type LoadIdxOptions,
  loadIdx,
  type ParseIdxOptions,
  parseIdx,
} from './loaders/idx';
export { type DecodedImage, decodeImage, type ImageFolderOptions, loadImageFolder } from './loaders/image-folder';
export { readTar } from './loaders/tar';
