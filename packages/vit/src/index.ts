export { BasicBlock, BatchNorm2d, Conv2d, l2Normalize, makeLayer, NormedLinear } from './cnn/layers';
export {
  type MultiExpertConfig,
  type MultiExpertOutput,
  MultiExpertResNet,
  ResNetCifar,
  type ResNetCifarConfig,
  type ResNetOutput,
  resnet32,
} from './cnn/resnet-cifar';
export {
  addLayerNorm,
  addLinear,
  drop,
  dropPath,
  gelu,
  init,
  type LinearInit,
  layerNorm,
  linear,
} from './core/layers';
export {
  type LoadReport,
  Module,
  type ParamLayout,
  ParamStore,
  permuteAxes,
  type StateDict,
  type StateDictEntry,
  safetensorsToStateDict,
  stateDictToSafetensors,
} from './core/module';
export {
  buildModel,
  type LoadedModel,
  type LoadModelOptions,
  loadModel,
  MODEL_ARCHITECTURES,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelArchitecture,
  type ModelFiles,
  type ModelJson,
  parseModelJson,
  type SavableModel,
  type SavedModel,
  type SaveModelOptions,
  saveModel,
} from './io/model-json';
export {
  type DiagonalityLossOptions,
  diagonalityPreservingLoss,
  LaViT,
  type LaViTConfig,
  type LaViTOutput,
} from './lavit/lavit';
export { applyMetaDropout, type MetaMaskOptions, metaMaskProbability } from './meta/meta-dropout';
export { MetaEncoder } from './meta/meta-encoder';
export {
  createMetaFormer,
  METAFORMER_PRESETS,
  MetaFormer,
  type MetaFormerConfig,
  type MetaFormerForwardOptions,
  type MetaFormerOutput,
} from './meta/metaformer';
export {
  encodeSpatial,
  encodeSpatioTemporal,
  encodeTemporal,
  type SpatioTemporalInput,
  type SpatioTemporalOptions,
} from './meta/spatio-temporal';
export { ConvTokenizers, MFT, type MFTConfig } from './mmformer/mft';
export { ceilAvgPool, MMFormer, type MMFormerConfig, type MMFormerForwardOptions } from './mmformer/mmformer';
export {
  type ImageNetResNetOutput,
  RESNET_ARCHITECTURES,
  ResNet,
  type ResNetArchitecture,
  ResNetBasicBlock,
  ResNetBottleneck,
  type ResNetConfig,
  resnet18,
  resnet34,
  resnet50,
} from './resnet/resnet';
export {
  Attention,
  type AttentionRunOptions,
  Block,
  type BlockOptions,
  Mlp,
  mergeHeads,
  PatchEmbed,
  type RunOptions,
  splitHeads,
} from './vit/blocks';
export {
  type LoadViTReport,
  type LoadViTWeightsOptions,
  loadViTStateDict,
  loadViTWeights,
} from './vit/load-vit-weights';
export {
  bicubicResizeHWC,
  type ResamplePosEmbedOptions,
  resampleAbsPosEmbed,
  resamplePosEmbedValues,
} from './vit/pos-embed';
export { createViT, VIT_PRESETS, type ViTPresetName } from './vit/presets';
export {
  type ForwardOptions,
  VisionTransformer,
  type VisionTransformerConfig,
  type ViTOutput,
} from './vit/vision-transformer';
