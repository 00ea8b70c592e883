import {
  assertRank,
  checkEnum,
  checkNumber,
  checkOptions,
  createRng,
  formatShape,
  invalid,
  type Rng,
  tf,
} from '@distillery/tensor';
import { BatchNorm2d, Conv2d } from '../cnn/layers';
import { addLinear, linear } from '../core/layers';
import { Module, type ParamStore } from '../core/module';

/** The ImageNet ResNets under their torchvision / timm names. */
export const RESNET_ARCHITECTURES = ['resnet18', 'resnet34', 'resnet50'] as const;
export type ResNetArchitecture = (typeof RESNET_ARCHITECTURES)[number];

/** Block type and blocks per stage (torchvision `resnet18` = BasicBlock [2, 2, 2, 2], …). */
const LAYOUTS: Record<ResNetArchitecture, { block: 'basic' | 'bottleneck'; layers: [number, number, number, number] }> =
  {
    resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
    resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
    resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  };

export interface ResNetConfig {
  /** 'resnet18' | 'resnet34' | 'resnet50'. */
  architecture: ResNetArchitecture;
  /** Classes of the `fc` head. Default 1000 (ImageNet). */
  numClasses?: number;
  /** Channels of the input images (conv1's input). Default 3. */
  inChannels?: number;
  /** Seed of the random initialisation. */
  seed?: number | string;
}

const RESNET_CONFIG_SPEC = {
  architecture: RESNET_ARCHITECTURES,
  numClasses: true,
  inChannels: true,
  seed: true,
} as const;

export interface ImageNetResNetOutput {
  logits: tf.Tensor2D;
  /** Globally average-pooled features [B, 512] (BasicBlock) or [B, 2048] (Bottleneck). */
  features: tf.Tensor2D;
}

/** A 1×1 or 3×3 conv without bias, torchvision's init (kaiming_normal_, mode fan_out, ReLU gain). */
function conv(store: ParamStore, name: string, cin: number, cout: number, k: number, stride: number, rng: Rng) {
  return new Conv2d(store, name, cin, cout, k, stride, (k - 1) / 2, rng, { bias: false, init: 'kaiming_fan_out' });
}

/** `downsample` = Sequential(conv1x1(stride), BatchNorm2d): `<name>.downsample.0`, `<name>.downsample.1`. */
class Downsample {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(store: ParamStore, name: string, cin: number, cout: number, stride: number, rng: Rng) {
    this.conv = conv(store, `${name}.downsample.0`, cin, cout, 1, stride, rng);
    this.bn = new BatchNorm2d(store, `${name}.downsample.1`, cout);
  }
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.bn.apply(this.conv.apply(x), training);
  }
}

/** torchvision BasicBlock (expansion 1): relu(bn2(conv2(relu(bn1(conv1 x)))) + identity). */
export class ResNetBasicBlock {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample?: Downsample;
  constructor(store: ParamStore, name: string, inPlanes: number, planes: number, stride: number, rng: Rng) {
    this.conv1 = conv(store, `${name}.conv1`, inPlanes, planes, 3, stride, rng);
    this.bn1 = new BatchNorm2d(store, `${name}.bn1`, planes);
    this.conv2 = conv(store, `${name}.conv2`, planes, planes, 3, 1, rng);
    this.bn2 = new BatchNorm2d(store, `${name}.bn2`, planes);
    if (stride !== 1 || inPlanes !== planes)
      this.downsample = new Downsample(store, name, inPlanes, planes, stride, rng);
  }
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const out = this.bn2.apply(this.conv2.apply(tf.relu(this.bn1.apply(this.conv1.apply(x), training))), training);
    return tf.relu(tf.add(out, this.downsample ? this.downsample.apply(x, training) : x)) as tf.Tensor4D;
  }
}

/**
 * torchvision Bottleneck (ResNet v1.5, expansion 4, stride on the 3×3 conv2):
 * relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1 x)))))) + identity).
 */
export class ResNetBottleneck {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample?: Downsample;
  constructor(store: ParamStore, name: string, inPlanes: number, planes: number, stride: number, rng: Rng) {
    const out = planes * ResNetBottleneck.expansion;
    this.conv1 = conv(store, `${name}.conv1`, inPlanes, planes, 1, 1, rng);
    this.bn1 = new BatchNorm2d(store, `${name}.bn1`, planes);
    this.conv2 = conv(store, `${name}.conv2`, planes, planes, 3, stride, rng);
    this.bn2 = new BatchNorm2d(store, `${name}.bn2`, planes);
    this.conv3 = conv(store, `${name}.conv3`, planes, out, 1, 1, rng);
    this.bn3 = new BatchNorm2d(store, `${name}.bn3`, out);
    if (stride !== 1 || inPlanes !== out) this.downsample = new Downsample(store, name, inPlanes, out, stride, rng);
  }
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let y = tf.relu(this.bn1.apply(this.conv1.apply(x), training)) as tf.Tensor4D;
    y = tf.relu(this.bn2.apply(this.conv2.apply(y), training)) as tf.Tensor4D;
    y = this.bn3.apply(this.conv3.apply(y), training);
    return tf.relu(tf.add(y, this.downsample ? this.downsample.apply(x, training) : x)) as tf.Tensor4D;
  }
}

/**
 * The ImageNet ResNet (He et al., "Deep Residual Learning for Image Recognition", arXiv 1512.03385, Table 1) as
 * torchvision builds it (pytorch/vision torchvision/models/resnet.py, v0.14.1: `ResNet`, `BasicBlock`,
 * `Bottleneck` with the stride on the 3×3 conv, "ResNet v1.5"): conv1 7×7/2 (no bias) → bn1 → ReLU → maxpool 3×3/2
 * (padding 1) → layer1..4 (widths 64/128/256/512, strides 1/2/2/2) → global average pool → fc.
 *
 * Parameter names are torchvision's, which timm's `resnet18/34/50` share (`conv1.weight`, `bn1.running_mean`,
 * `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `fc.weight`, …), so `loadSafetensors` reads a
 * torchvision or timm state dict saved with `safetensors.torch.save_file` directly, strict about names and shapes.
 * BatchNorm keeps `running_mean`, `running_var` and `num_batches_tracked` (loaded and written, as torchvision
 * does); `forward(x, { training: true })` normalises with the batch statistics and updates the running buffers with
 * momentum 0.1 (unbiased variance), evaluation uses the running buffers.
 *
 * Layout: images are NHWC `[B, H, W, C]` and conv filters are stored HWIO in tfjs; PyTorch's NCHW/OIHW layout is
 * converted when loading and saving, so checkpoints keep PyTorch's layout and the same numbers. Init as torchvision
 * (`zero_init_residual=False`): conv kaiming_normal_(fan_out, relu), BN 1/0, fc PyTorch's default Linear init.
 */
export class ResNet extends Module {
  readonly config: Required<Omit<ResNetConfig, 'seed'>>;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: (ResNetBasicBlock | ResNetBottleneck)[][];
  readonly fc: { weight: tf.Variable; bias?: tf.Variable };
  readonly numFeatures: number;

  constructor(config: ResNetConfig) {
    super();
    if (config === undefined || config === null) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config',
        "a config { architecture: 'resnet18' | 'resnet34' | 'resnet50', … }",
        String(config),
      );
    }
    checkOptions<ResNetConfig>(config, RESNET_CONFIG_SPEC, 'config');
    const architecture = checkEnum(config.architecture, 'config.architecture', RESNET_ARCHITECTURES);
    const numClasses = config.numClasses ?? 1000;
    const inChannels = config.inChannels ?? 3;
    checkNumber(numClasses, 'config.numClasses', { min: 1, integer: true });
    checkNumber(inChannels, 'config.inChannels', { min: 1, integer: true });
    this.config = { architecture, numClasses, inChannels };
    const rng = createRng(config.seed ?? 0);
    const s = this.params;
    const { block, layers } = LAYOUTS[architecture];
    const Block = block === 'basic' ? ResNetBasicBlock : ResNetBottleneck;
    this.conv1 = new Conv2d(s, 'conv1', inChannels, 64, 7, 2, 3, rng, { bias: false, init: 'kaiming_fan_out' });
    this.bn1 = new BatchNorm2d(s, 'bn1', 64);
    let inPlanes = 64;
    this.layers = [64, 128, 256, 512].map((planes, stage) => {
      const out: (ResNetBasicBlock | ResNetBottleneck)[] = [];
      for (let i = 0; i < layers[stage]!; i++) {
        const stride = i === 0 && stage > 0 ? 2 : 1;
        out.push(new Block(s, `layer${stage + 1}.${i}`, inPlanes, planes, stride, rng));
        inPlanes = planes * Block.expansion;
      }
      return out;
    });
    this.numFeatures = inPlanes;
    this.fc = addLinear(s, 'fc', inPlanes, numClasses, rng, { init: 'torch_default' });
  }

  /** Throws naming `images` unless they are NHWC float32 [B, H ≥ 1, W ≥ 1, inChannels]. */
  checkImages(images: unknown, argument = 'images'): tf.Tensor4D {
    const t = assertRank(images, 4, argument) as tf.Tensor4D;
    const c = this.config.inChannels;
    if (t.shape[3] !== c) {
      throw invalid(
        'SHAPE_MISMATCH',
        argument,
        `${c} channels (NHWC [B, H, W, ${c}])`,
        `shape ${formatShape(t.shape)}`,
      );
    }
    if (t.shape[0] < 1 || t.shape[1] < 1 || t.shape[2] < 1) {
      throw invalid('SHAPE_MISMATCH', argument, 'a non-empty batch of images', `shape ${formatShape(t.shape)}`);
    }
    if (t.dtype !== 'float32') throw invalid('INVALID_DTYPE', argument, 'float32', t.dtype);
    return t;
  }

  /**
   * Logits and pooled features; `training: true` uses (and updates) the BatchNorm batch statistics. The results
   * are new tensors owned by the caller.
   */
  forward(images: tf.Tensor4D, options: { training?: boolean } = {}): ImageNetResNetOutput {
    checkOptions<{ training?: boolean }>(options, { training: true });
    const x0 = this.checkImages(images);
    const training = options.training ?? false;
    return tf.tidy(() => {
      let x = tf.relu(this.bn1.apply(this.conv1.apply(x0), training)) as tf.Tensor4D;
      // MaxPool2d(3, 2, padding=1) pads with −inf; its input is a ReLU output (≥ 0) and every window holds a real
      // pixel, so zero padding gives the same maximum. (tfjs 'same' padding would pad only after the last pixel.)
      x = tf.maxPool(
        tf.pad(x, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]) as tf.Tensor4D,
        3,
        2,
        'valid',
      );
      for (const stage of this.layers) for (const block of stage) x = block.apply(x, training);
      const features = tf.mean(x, [1, 2]) as tf.Tensor2D;
      const logits = linear(features, this.fc.weight, this.fc.bias) as tf.Tensor2D;
      return { logits, features } as unknown as tf.TensorContainer;
    }) as unknown as ImageNetResNetOutput;
  }
}

type ResNetOptions = Omit<ResNetConfig, 'architecture'>;
const OPTIONS_SPEC = { numClasses: true, inChannels: true, seed: true } as const;

/** torchvision / timm `resnet18`: BasicBlock [2, 2, 2, 2], 11.7M parameters at 1000 classes. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet({ ...checkOptions<ResNetOptions>(options, OPTIONS_SPEC, 'options'), architecture: 'resnet18' });
}

/** torchvision / timm `resnet34`: BasicBlock [3, 4, 6, 3], 21.8M parameters at 1000 classes. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet({ ...checkOptions<ResNetOptions>(options, OPTIONS_SPEC, 'options'), architecture: 'resnet34' });
}

/** torchvision / timm `resnet50`: Bottleneck [3, 4, 6, 3] (v1.5), 25.6M parameters at 1000 classes. */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet({ ...checkOptions<ResNetOptions>(options, OPTIONS_SPEC, 'options'), architecture: 'resnet50' });
}
