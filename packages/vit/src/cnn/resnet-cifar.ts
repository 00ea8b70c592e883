import {
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  formatShape,
  invalid,
  type OptionsSpec,
  tf,
} from '@distillery/tensor';
import { addLinear, linear } from '../core/layers';
import { Module } from '../core/module';
import { type BasicBlock, BatchNorm2d, Conv2d, makeLayer, NormedLinear } from './layers';

export interface ResNetCifarConfig {
  numClasses?: number;
  /** Blocks per stage; [5, 5, 5] is ResNet-32 (6n+2 layers). */
  blocks?: [number, number, number];
  /** Stage widths; [16, 32, 64] for ResNet-32. */
  widths?: [number, number, number];
  inChannels?: number;
  /** 'linear' (nn.Linear) or 'cosine' (NormedLinear, LDAM `use_norm`). Default 'linear'. */
  classifier?: 'linear' | 'cosine';
  /** Multiplies the logits (LDAM applies s = 30 in its loss, so the default is 1). */
  scale?: number;
  seed?: number | string;
}

const RESNET_SPEC: OptionsSpec<ResNetCifarConfig> = {
  numClasses: true,
  blocks: true,
  widths: true,
  inChannels: true,
  classifier: ['linear', 'cosine'],
  scale: true,
  seed: true,
};

/** Throws naming `argument` unless `value` is an array of three positive integers. */
function checkTriple(value: unknown, argument: string): void {
  if (!Array.isArray(value) || value.length !== 3) {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      'an array of 3 positive integers',
      Array.isArray(value) ? `an array of length ${value.length}` : String(value),
    );
  }
  for (const [i, v] of value.entries()) checkNumber(v, `${argument}[${i}]`, { min: 1, integer: true });
}

function checkForwardOptions(options: unknown): { training?: boolean } {
  return checkOptions<{ training?: boolean }>(options, { training: true });
}

function checkImages(images: unknown, inChannels: number): tf.Tensor4D {
  const t = assertRank(images, 4, 'images') as tf.Tensor4D;
  if (t.shape[3] !== inChannels) {
    throw invalid(
      'SHAPE_MISMATCH',
      'images',
      `${inChannels} channels (NHWC [B, H, W, ${inChannels}])`,
      `shape ${formatShape(t.shape)}`,
    );
  }
  if (t.shape[1] < 4 || t.shape[2] < 4) {
    throw invalid('SHAPE_MISMATCH', 'images', 'at least 4×4 pixels (two stride-2 stages)', formatShape(t.shape));
  }
  return t;
}

function runLayer(layer: BasicBlock[], x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  for (const block of layer) x = block.apply(x, training);
  return x;
}

export interface ResNetOutput {
  logits: tf.Tensor2D;
  /** Globally average-pooled features [B, widths[2]]. */
  features: tf.Tensor2D;
}

/**
 * CIFAR ResNet (He et al. 2016, arXiv 1512.03385, option-A shortcuts; kaidic/LDAM-DRW models/resnet_cifar.py @6feb304
 * `resnet32`): conv3×3(→16) BN
 * ReLU → 3 stages of BasicBlocks (widths 16/32/64, strides 1/2/2) → global average pool → Linear or NormedLinear.
 * The DeiT-LT / MDCS CIFAR teacher. Names follow the PyTorch module (`conv1`, `bn1`, `layer1.0.conv1`, `linear`).
 * `forward(images, { training })`: training uses batch statistics and updates the BN running buffers.
 */
export class ResNetCifar extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: BasicBlock[][];
  readonly linear?: { weight: tf.Variable; bias?: tf.Variable };
  readonly normed?: NormedLinear;
  readonly config: Required<Omit<ResNetCifarConfig, 'seed'>>;

  constructor(config: ResNetCifarConfig = {}) {
    super();
    checkOptions<ResNetCifarConfig>(config, RESNET_SPEC, 'config');
    const c = {
      numClasses: 10,
      blocks: [5, 5, 5] as [number, number, number],
      widths: [16, 32, 64] as [number, number, number],
      inChannels: 3,
      classifier: 'linear' as const,
      scale: 1,
      ...config,
    };
    checkNumber(c.numClasses, 'config.numClasses', { min: 1, integer: true });
    checkTriple(c.blocks, 'config.blocks');
    checkTriple(c.widths, 'config.widths');
    checkNumber(c.inChannels, 'config.inChannels', { min: 1, integer: true });
    checkNumber(c.scale, 'config.scale', { min: 0, minExclusive: true });
    const { seed, ...rest } = c;
    this.config = rest;
    const rng = createRng(seed ?? 0);
    const s = this.params;
    this.conv1 = new Conv2d(s, 'conv1', c.inChannels, c.widths[0], 3, 1, 1, rng);
    this.bn1 = new BatchNorm2d(s, 'bn1', c.widths[0]);
    this.layers = [
      makeLayer(s, 'layer1', c.widths[0], c.widths[0], c.blocks[0], 1, rng),
      makeLayer(s, 'layer2', c.widths[0], c.widths[1], c.blocks[1], 2, rng),
      makeLayer(s, 'layer3', c.widths[1], c.widths[2], c.blocks[2], 2, rng),
    ];
    if (c.classifier === 'cosine') this.normed = new NormedLinear(s, 'linear', c.widths[2], c.numClasses, rng);
    else this.linear = addLinear(s, 'linear', c.widths[2], c.numClasses, rng, { init: 'kaiming_normal' });
  }

  forward(images: tf.Tensor4D, options: { training?: boolean } = {}): ResNetOutput {
    checkForwardOptions(options);
    const x0 = checkImages(images, this.config.inChannels);
    const training = options.training ?? false;
    return tf.tidy(() => {
      let x = tf.relu(this.bn1.apply(this.conv1.apply(x0), training)) as tf.Tensor4D;
      for (const layer of this.layers) x = runLayer(layer, x, training);
      const features = tf.mean(x, [1, 2]) as tf.Tensor2D;
      const raw = this.normed
        ? this.normed.apply(features)
        : (linear(features, this.linear!.weight, this.linear!.bias) as tf.Tensor2D);
      const logits = this.config.scale === 1 ? raw : (tf.mul(raw, this.config.scale) as tf.Tensor2D);
      return { logits, features } as unknown as tf.TensorContainer;
    }) as unknown as ResNetOutput;
  }
}

/** ResNet-32 for CIFAR-size inputs (0.46M parameters at 10 classes). */
export function resnet32(config: Omit<ResNetCifarConfig, 'blocks'> = {}): ResNetCifar {
  const { blocks: _, ...spec } = RESNET_SPEC;
  checkOptions<Omit<ResNetCifarConfig, 'blocks'>>(config, spec, 'config');
  return new ResNetCifar({ ...config, blocks: [5, 5, 5] });
}

export interface MultiExpertConfig {
  numClasses?: number;
  numExperts?: number;
  blocks?: [number, number, number];
  /** Widths of the shared stage and the experts' two stages; RIDE/MDCS `reduce_dimension` gives [16, 24, 48]. */
  widths?: [number, number, number];
  inChannels?: number;
  /** 'cosine' (NormedLinear, default) or 'linear'. */
  classifier?: 'linear' | 'cosine';
  /** Logit scale s for the cosine classifier (30); forced to 1 for a linear classifier, as in RIDE. */
  scale?: number;
  seed?: number | string;
}

export interface MultiExpertOutput {
  /** Mean of the experts' logits (what RIDE/MDCS evaluate). */
  logits: tf.Tensor2D;
  /** Each expert's logits [B, classes], scaled by s. */
  expertLogits: tf.Tensor2D[];
  /** Each expert's pooled features [B, widths[2]]. */
  features: tf.Tensor2D[];
}

/**
 * Multi-expert CIFAR ResNet (RIDE's `ResNet_s`, as in fistyee/MDCS model/ldam_drw_resnets/expert_resnet_cifar.py
 * @b07f5bd, used by SADE and MDCS; that file's unused `linear_head`, `linear_few` and `mlp` modules are not built):
 * a shared stem (conv1, bn1, layer1) and, per expert, its own layer2, layer3 and classifier
 * (NormedLinear × s = 30). Names: `layer2s.<e>.<block>.…`, `layer3s.<e>…`, `linears.<e>.weight`.
 */
export class MultiExpertResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: BasicBlock[];
  readonly layer2s: BasicBlock[][];
  readonly layer3s: BasicBlock[][];
  readonly heads: ({ weight: tf.Variable; bias?: tf.Variable } | NormedLinear)[];
  readonly config: Required<Omit<MultiExpertConfig, 'seed'>>;

  constructor(config: MultiExpertConfig = {}) {
    super();
    checkOptions<MultiExpertConfig>(config, { ...RESNET_SPEC, numExperts: true }, 'config');
    const c = {
      numClasses: 10,
      numExperts: 3,
      blocks: [5, 5, 5] as [number, number, number],
      widths: [16, 32, 64] as [number, number, number],
      inChannels: 3,
      classifier: 'cosine' as const,
      scale: 30,
      ...config,
    };
    checkNumber(c.numClasses, 'config.numClasses', { min: 1, integer: true });
    checkNumber(c.numExperts, 'config.numExperts', { min: 1, integer: true });
    checkTriple(c.blocks, 'config.blocks');
    checkTriple(c.widths, 'config.widths');
    checkNumber(c.inChannels, 'config.inChannels', { min: 1, integer: true });
    checkNumber(c.scale, 'config.scale', { min: 0, minExclusive: true });
    if (c.classifier === 'linear') c.scale = 1;
    const { seed, ...rest } = c;
    this.config = rest;
    const rng = createRng(seed ?? 0);
    const s = this.params;
    const [w1, w2, w3] = c.widths;
    this.conv1 = new Conv2d(s, 'conv1', c.inChannels, w1, 3, 1, 1, rng);
    this.bn1 = new BatchNorm2d(s, 'bn1', w1);
    this.layer1 = makeLayer(s, 'layer1', w1, w1, c.blocks[0], 1, rng);
    this.layer2s = [];
    this.layer3s = [];
    this.heads = [];
    for (let e = 0; e < c.numExperts; e++) this.layer2s.push(makeLayer(s, `layer2s.${e}`, w1, w2, c.blocks[1], 2, rng));
    for (let e = 0; e < c.numExperts; e++) this.layer3s.push(makeLayer(s, `layer3s.${e}`, w2, w3, c.blocks[2], 2, rng));
    for (let e = 0; e < c.numExperts; e++) {
      this.heads.push(
        c.classifier === 'cosine'
          ? new NormedLinear(s, `linears.${e}`, w3, c.numClasses, rng)
          : addLinear(s, `linears.${e}`, w3, c.numClasses, rng, { init: 'kaiming_normal' }),
      );
    }
  }

  forward(images: tf.Tensor4D, options: { training?: boolean } = {}): MultiExpertOutput {
    checkForwardOptions(options);
    const x0 = checkImages(images, this.config.inChannels);
    const training = options.training ?? false;
    return tf.tidy(() => {
      let shared = tf.relu(this.bn1.apply(this.conv1.apply(x0), training)) as tf.Tensor4D;
      shared = runLayer(this.layer1, shared, training);
      const expertLogits: tf.Tensor2D[] = [];
      const features: tf.Tensor2D[] = [];
      for (let e = 0; e < this.config.numExperts; e++) {
        const x = runLayer(this.layer3s[e]!, runLayer(this.layer2s[e]!, shared, training), training);
        const f = tf.mean(x, [1, 2]) as tf.Tensor2D;
        const head = this.heads[e]!;
        const raw = head instanceof NormedLinear ? head.apply(f) : (linear(f, head.weight, head.bias) as tf.Tensor2D);
        expertLogits.push(tf.mul(raw, this.config.scale) as tf.Tensor2D);
        features.push(f);
      }
      const logits = tf.div(tf.addN(expertLogits), this.config.numExperts) as tf.Tensor2D;
      return { logits, expertLogits, features } as unknown as tf.TensorContainer;
    }) as unknown as MultiExpertOutput;
  }
}
