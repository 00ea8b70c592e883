import { assertRank, checkOptions, formatShape, fusedBatchNormTrain, invalid, type Rng, tf } from '@distillery/tensor';
import { init } from '../core/layers';
import type { ParamStore } from '../core/module';

export interface Conv2dOptions {
  bias?: boolean;
  /** Depthwise (groups = channels, multiplier 1): PyTorch weight [C, 1, k, k]. */
  depthwise?: boolean;
  /**
   * 'kaiming_fan_in' (LDAM/RIDE `kaiming_normal_`, default), 'kaiming_fan_out' (MetaFormer: normal with
   * std √(2 / (out·k·k))), or 'torch_default' (kaiming_uniform a=√5 and the default bias).
   */
  init?: 'kaiming_fan_in' | 'kaiming_fan_out' | 'torch_default';
  /**
   * The bias init: 'torch_default' is PyTorch's U(−1/√fan_in, 1/√fan_in) (what a bias keeps when the model's init
   * only touches the weights); 'zeros' otherwise. Default: 'torch_default' with `init: 'torch_default'`, else 'zeros'.
   */
  biasInit?: 'zeros' | 'torch_default';
}

/**
 * Conv2d with PyTorch padding semantics (symmetric zero padding `pad`, then a valid conv), NHWC.
 * Stored as `<name>.weight` OIHW in PyTorch ([C, 1, k, k] when depthwise) and `<name>.bias`.
 */
export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly depthwise: boolean;
  constructor(
    store: ParamStore,
    name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride: number,
    readonly pad: number,
    rng: Rng,
    options: Conv2dOptions = {},
  ) {
    checkOptions<Conv2dOptions>(options, {
      bias: true,
      depthwise: true,
      init: ['kaiming_fan_in', 'kaiming_fan_out', 'torch_default'],
      biasInit: ['zeros', 'torch_default'],
    });
    this.depthwise = options.depthwise ?? false;
    const mode = options.init ?? 'kaiming_fan_in';
    const fanIn = (this.depthwise ? 1 : inChannels) * kernel * kernel;
    const fanOut = outChannels * kernel * kernel;
    const shape = this.depthwise ? [kernel, kernel, inChannels, 1] : [kernel, kernel, inChannels, outChannels];
    const w =
      mode === 'kaiming_fan_in'
        ? init.kaimingNormal(shape, rng, fanIn)
        : mode === 'kaiming_fan_out'
          ? init.kaimingNormal(shape, rng, fanOut)
          : init.torchDefault(shape, rng, fanIn);
    this.weight = store.add(`${name}.weight`, w, this.depthwise ? 'depthwise' : 'conv2d');
    if (options.bias) {
      const biasInit = options.biasInit ?? (mode === 'torch_default' ? 'torch_default' : 'zeros');
      const b = biasInit === 'torch_default' ? init.torchDefault([outChannels], rng, fanIn) : init.zeros([outChannels]);
      this.bias = store.add(`${name}.bias`, b);
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const t = assertRank(x, 4, 'x');
    if (t.shape[3] !== this.inChannels) {
      throw invalid('SHAPE_MISMATCH', 'x', `NHWC [B, H, W, ${this.inChannels}]`, `shape ${formatShape(t.shape)}`);
    }
    const p = this.pad;
    const w = this.weight as unknown as tf.Tensor4D;
    let y: tf.Tensor4D;
    if (this.depthwise) {
      const padded = (
        p > 0
          ? tf.pad(x, [
              [0, 0],
              [p, p],
              [p, p],
              [0, 0],
            ])
          : x
      ) as tf.Tensor4D;
      y = tf.depthwiseConv2d(padded, w, this.stride, 'valid');
    } else {
      // The conv's own zero padding (no padded copy of x forward, no Slice of its gradient backward).
      const pad: tf.backend_util.ExplicitPadding = [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ];
      y = tf.conv2d(x, w, this.stride, p > 0 ? pad : 'valid');
    }
    return (this.bias ? tf.add(y, this.bias) : y) as tf.Tensor4D;
  }
}

/**
 * nn.BatchNorm2d (eps 1e-5, momentum 0.1) over NHWC channels. Training normalises with the batch statistics
 * (biased variance) and updates the running buffers with the unbiased variance, as PyTorch does; evaluation uses
 * the running buffers. Stores `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
 */
export class BatchNorm2d {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  constructor(
    private readonly store: ParamStore,
    private readonly name: string,
    readonly channels: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    this.gamma = store.add(`${name}.weight`, init.ones([channels]));
    this.beta = store.add(`${name}.bias`, init.zeros([channels]));
    this.runningMean = store.add(`${name}.running_mean`, init.zeros([channels]), 'plain', false);
    this.runningVar = store.add(`${name}.running_var`, init.ones([channels]), 'plain', false);
    store.addCounter(`${name}.num_batches_tracked`);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const t = assertRank(x, 4, 'x');
    if (t.shape[3] !== this.channels) {
      throw invalid('SHAPE_MISMATCH', 'x', `NHWC [B, H, W, ${this.channels}]`, `shape ${formatShape(t.shape)}`);
    }
    if (!training) {
      // x·scale + shift, with scale = γ/√(running_var + eps) and shift = β − running_mean·scale folded per channel:
      // two passes over x instead of four (teachers of distillation run every step in this mode).
      const scale = tf.mul(this.gamma, tf.rsqrt(tf.add(this.runningVar, this.eps)));
      return tf.add(tf.mul(x, scale), tf.sub(this.beta, tf.mul(this.runningMean, scale))) as tf.Tensor4D;
    }
    const count = x.size / this.channels;
    if (count < 2) {
      // PyTorch raises too: the variance of one value is 0/0 in the unbiased running update.
      throw invalid(
        'INVALID_ARGUMENT',
        'x',
        'more than one value per channel in training mode (B·H·W > 1)',
        `shape ${formatShape(t.shape)}`,
      );
    }
    // One fused kernel each way on cpu and wasm (batch statistics, normalise, scale, shift; dx, dγ, dβ).
    const { y, mean, variance } = fusedBatchNormTrain(x, this.gamma, this.beta, this.eps);
    // Running buffers: computed from the values (not part of the differentiated graph).
    const m = this.momentum;
    tf.tidy(() => {
      const unbiased = tf.mul(variance, count / (count - 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
    });
    const key = `${this.name}.num_batches_tracked`;
    this.store.counters.set(key, (this.store.counters.get(key) ?? 0) + 1);
    return y as tf.Tensor4D;
  }
}

/**
 * CIFAR BasicBlock, option A (He et al. 2016; LDAM-DRW models/resnet_cifar.py, RIDE
 * model/ldam_drw_resnets/expert_resnet_cifar.py): relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)); the shortcut,
 * when stride ≠ 1 or widths differ, is x[:, :, ::2, ::2] zero-padded by (planes − in)/2 channels on each side.
 */
export class BasicBlock {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: boolean;
  constructor(
    store: ParamStore,
    name: string,
    readonly inPlanes: number,
    readonly planes: number,
    readonly stride: number,
    rng: Rng,
  ) {
    this.conv1 = new Conv2d(store, `${name}.conv1`, inPlanes, planes, 3, stride, 1, rng);
    this.bn1 = new BatchNorm2d(store, `${name}.bn1`, planes);
    this.conv2 = new Conv2d(store, `${name}.conv2`, planes, planes, 3, 1, 1, rng);
    this.bn2 = new BatchNorm2d(store, `${name}.bn2`, planes);
    this.downsample = stride !== 1 || inPlanes !== planes;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const out = this.bn2.apply(this.conv2.apply(tf.relu(this.bn1.apply(this.conv1.apply(x), training))), training);
    return tf.relu(tf.add(out, this.downsample ? this.shortcut(x) : x)) as tf.Tensor4D;
  }

  private shortcut(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w, c] = x.shape;
    // x[:, ::2, ::2, :] without strided slices (no gradient in tfjs): [B·H/2, 2, W/2, 2C] → take row 0, columns 0..C.
    const hh = Math.ceil(h / 2);
    const ww = Math.ceil(w / 2);
    const even =
      h % 2 === 0 && w % 2 === 0
        ? x
        : tf.pad(x, [
            [0, 0],
            [0, h % 2],
            [0, w % 2],
            [0, 0],
          ]);
    const rows = tf.reshape(even, [b * hh, 2, ww, 2 * c]);
    const sub = tf.reshape(tf.slice(rows, [0, 0, 0, 0], [b * hh, 1, ww, c]), [b, hh, ww, c]);
    const p = Math.floor((this.planes - this.inPlanes) / 2);
    return tf.pad(sub, [
      [0, 0],
      [0, 0],
      [0, 0],
      [p, p],
    ]) as tf.Tensor4D;
  }
}

/** A stage of `n` BasicBlocks (`<name>.0`, `<name>.1`, …); the first one strides. */
export function makeLayer(
  store: ParamStore,
  name: string,
  inPlanes: number,
  planes: number,
  blocks: number,
  stride: number,
  rng: Rng,
): BasicBlock[] {
  const out: BasicBlock[] = [];
  for (let i = 0; i < blocks; i++) {
    out.push(new BasicBlock(store, `${name}.${i}`, i === 0 ? inPlanes : planes, planes, i === 0 ? stride : 1, rng));
  }
  return out;
}

/**
 * NormedLinear (LDAM-DRW / RIDE): normalize(x, dim=1) · normalize(W, dim=0), W stored [in, out] (not transposed,
 * as in the reference). Init uniform(−1, 1) then columns renormalised (renorm_(2, 1, 1e-5).mul_(1e5)).
 */
export class NormedLinear {
  readonly weight: tf.Variable;
  constructor(store: ParamStore, name: string, inFeatures: number, outFeatures: number, rng: Rng) {
    const w = tf.tidy(() => {
      const u = init.torchDefault([inFeatures, outFeatures], rng, 1);
      return tf.div(u, tf.norm(u, 'euclidean', 0, true));
    });
    this.weight = store.add(`${name}.weight`, w, 'plain');
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    const t = assertRank(x, 2, 'x');
    if (t.shape[1] !== this.weight.shape[0]) {
      throw invalid('SHAPE_MISMATCH', 'x', `[B, ${this.weight.shape[0]}]`, `shape ${formatShape(t.shape)}`);
    }
    return tf.matMul(l2Normalize(x, 1), l2Normalize(this.weight, 0));
  }
}

/** F.normalize: x / max(‖x‖₂, 1e-12) along `axis`. */
export function l2Normalize(x: tf.Tensor, axis: number): tf.Tensor2D {
  if (!(x instanceof tf.Tensor)) throw invalid('INVALID_ARGUMENT', 'x', 'a tensor', String(x));
  if (!Number.isInteger(axis) || axis < -x.rank || axis >= x.rank) {
    throw invalid('OUT_OF_RANGE', 'axis', `an integer axis in [${-x.rank}, ${x.rank})`, String(axis));
  }
  const norm = tf.sqrt(tf.sum(tf.square(x), axis, true));
  return tf.div(x, tf.maximum(norm, 1e-12)) as tf.Tensor2D;
}
