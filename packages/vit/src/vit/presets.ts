import { checkOptions, invalid } from '@distillery/tensor';
import { VIT_CONFIG_SPEC, VisionTransformer, type VisionTransformerConfig } from './vision-transformer';

type PresetBase = Pick<VisionTransformerConfig, 'imageSize' | 'patchSize' | 'embedDim' | 'depth' | 'numHeads'>;

/**
 * DeiT configs (timm models/deit.py; mlp_ratio 4, qkv_bias, LN eps 1e-6) and small-image variants with the same
 * widths: 32 px with patch 4 (CIFAR, 64 tokens) and 8 px with patch 2 (16 tokens, for tests and toy data).
 */
export const VIT_PRESETS = {
  'deit-tiny-patch16-224': { imageSize: 224, patchSize: 16, embedDim: 192, depth: 12, numHeads: 3 },
  'deit-small-patch16-224': { imageSize: 224, patchSize: 16, embedDim: 384, depth: 12, numHeads: 6 },
  'deit-base-patch16-224': { imageSize: 224, patchSize: 16, embedDim: 768, depth: 12, numHeads: 12 },
  'deit-tiny-patch4-32': { imageSize: 32, patchSize: 4, embedDim: 192, depth: 12, numHeads: 3 },
  'deit-small-patch4-32': { imageSize: 32, patchSize: 4, embedDim: 384, depth: 12, numHeads: 6 },
  'deit-tiny-patch2-8': { imageSize: 8, patchSize: 2, embedDim: 192, depth: 12, numHeads: 3 },
} as const satisfies Record<string, PresetBase>;

export type ViTPresetName = keyof typeof VIT_PRESETS;

/**
 * A ViT/DeiT from a preset name, e.g. `createViT('deit-tiny-patch16-224', { distilled: true, numClasses: 100 })`
 * (timm `deit_tiny_distilled_patch16_224`). Any config field can be overridden.
 */
export function createViT(preset: ViTPresetName, overrides: Partial<VisionTransformerConfig> = {}): VisionTransformer {
  checkOptions<VisionTransformerConfig>(overrides, VIT_CONFIG_SPEC, 'overrides');
  const base = Object.hasOwn(VIT_PRESETS, preset as string)
    ? (VIT_PRESETS as Record<string, PresetBase>)[preset]
    : undefined;
  if (!base) {
    throw invalid('INVALID_ARGUMENT', 'preset', `one of ${Object.keys(VIT_PRESETS).join(', ')}`, String(preset));
  }
  return new VisionTransformer({ ...base, ...overrides });
}
