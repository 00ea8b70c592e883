import { invalid, readSafetensorsFile } from '@distillery/tensor';
import * as vit from '@distillery/vit';
import { createViT, type Module, VIT_PRESETS, type ViTPresetName } from '@distillery/vit';

/** Architectures the CLI builds: the ViT/DeiT presets and the CIFAR ResNet-32 (plus ResNet-18/34/50 when available). */
export const CIFAR_ARCHS = ['resnet32'] as const;
export const TORCHVISION_RESNETS = ['resnet18', 'resnet34', 'resnet50'] as const;
export const ARCHS: string[] = [...Object.keys(VIT_PRESETS), ...CIFAR_ARCHS, ...TORCHVISION_RESNETS];

export interface ModelShape {
  numClasses: number;
  channels: number;
  /** Images are [size, size]. */
  imageSize: number;
  /** DeiT with a distillation token (for 'deit-lt'). */
  distilled?: boolean;
  seed?: number;
  /** Config overrides (`--student-config` / `--model-config`), checked strictly by the model. */
  overrides?: Record<string, unknown>;
}

type TrainableModel = Module & {
  forward(images: never, options?: never): { logits: unknown };
};

/** A new model of architecture `arch` (`--student`, `--model`, `--teacher-arch`). */
export function createModel(arch: string, shape: ModelShape, argument: string): TrainableModel {
  if (Object.hasOwn(VIT_PRESETS, arch)) {
    return createViT(arch as ViTPresetName, {
      numClasses: shape.numClasses,
      inChannels: shape.channels,
      imageSize: shape.imageSize,
      distilled: shape.distilled ?? false,
      seed: shape.seed ?? 0,
      ...shape.overrides,
    }) as unknown as TrainableModel;
  }
  if (arch === 'resnet32') {
    return vit.resnet32({
      numClasses: shape.numClasses,
      inChannels: shape.channels,
      seed: shape.seed ?? 0,
      ...shape.overrides,
    }) as unknown as TrainableModel;
  }
  if ((TORCHVISION_RESNETS as readonly string[]).includes(arch)) {
    // torchvision / timm ResNets (BasicBlock / Bottleneck, BatchNorm buffers) of @distillery/vit
    const factory = { resnet18: vit.resnet18, resnet34: vit.resnet34, resnet50: vit.resnet50 }[
      arch as (typeof TORCHVISION_RESNETS)[number]
    ];
    return factory({
      numClasses: shape.numClasses,
      inChannels: shape.channels,
      seed: shape.seed ?? 0,
      ...shape.overrides,
    }) as unknown as TrainableModel;
  }
  throw invalid('INVALID_ARGUMENT', argument, `one of ${ARCHS.join(', ')}`, JSON.stringify(arch));
}

/** The classifier weight of each architecture family in timm/torchvision names: its first dimension is the class count. */
const HEADS = ['head.weight', 'linear.weight', 'fc.weight'];

/**
 * A teacher from a safetensors file (timm / torchvision names) and its architecture: the class count comes from the
 * file's classifier, so a teacher trained on other classes is built as it is and then refused by distill() with both
 * counts named.
 */
export async function loadTeacherFile(
  file: string,
  arch: string,
  shape: Omit<ModelShape, 'numClasses'>,
): Promise<TrainableModel> {
  const parsed = await readSafetensorsFile(file);
  const head = HEADS.find((name) => parsed.tensors.has(name));
  if (!head) {
    throw invalid('FORMAT', '--teacher', `a classifier weight (${HEADS.join(', ')}) in ${file}`, 'none');
  }
  const numClasses = parsed.tensors.get(head)!.shape[0]!;
  const distilled = parsed.tensors.has('head_dist.weight');
  const model = createModel(arch, { ...shape, numClasses, distilled }, '--teacher-arch');
  try {
    await model.loadSafetensors(file);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
