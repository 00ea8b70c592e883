import {
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  formatShape,
  invalid,
  type OptionsSpec,
  type Rng,
  scaledDotProductAttention,
  tf,
} from '@distillery/tensor';
import { BatchNorm2d, Conv2d } from '../cnn/layers';
import { addLayerNorm, addLinear, dropPath, init, layerNorm, linear } from '../core/layers';
import { Module, type ParamStore } from '../core/module';
import { Mlp, mergeHeads, splitHeads } from '../vit/blocks';
import { applyMetaDropout, type MetaMaskOptions, metaMaskProbability } from './meta-dropout';
import { MetaEncoder } from './meta-encoder';

const swish = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));

/**
 * MBConvBlock (dqshuai/MetaFormer models/MBConv.py): expand 1×1 (ratio 4) → BN(eps 0.01) → swish → depthwise 3×3
 * (pad 1, stride s) → BN → swish → squeeze-excitation (max(1, int(in·0.25)) channels, swish, sigmoid gate) →
 * project 1×1 → BN; residual (with drop connect) only when stride 1 and in == out.
 */
class MBConvBlock {
  readonly expand: Conv2d;
  readonly bn0: BatchNorm2d;
  readonly depthwise: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly seReduce: Conv2d;
  readonly seExpand: Conv2d;
  readonly project: Conv2d;
  readonly bn2: BatchNorm2d;
  constructor(
    store: ParamStore,
    name: string,
    readonly inFilters: number,
    readonly outFilters: number,
    readonly expandRatio: number,
    readonly stride: number,
    readonly dropConnect: number,
    rng: Rng,
  ) {
    const oup = inFilters * expandRatio;
    const conv = { init: 'kaiming_fan_out' as const };
    this.expand = new Conv2d(store, `${name}._expand_conv`, inFilters, oup, 1, 1, 0, rng, conv);
    this.bn0 = new BatchNorm2d(store, `${name}._bn0`, oup, 0.01, 0.1);
    this.depthwise = new Conv2d(store, `${name}._depthwise_conv`, oup, oup, 3, stride, 1, rng, {
      ...conv,
      depthwise: true,
    });
    this.bn1 = new BatchNorm2d(store, `${name}._bn1`, oup, 0.01, 0.1);
    const squeezed = Math.max(1, Math.floor(inFilters * 0.25));
    // The SE convs keep PyTorch's default bias init, U(−1/√fan_in, 1/√fan_in): MetaFG_meta.py `_init_weights` only
    // re-initialises Conv2d weights (kaiming_normal fan_out), and MBConv.py builds them with bias=True.
    const se = { ...conv, bias: true, biasInit: 'torch_default' as const };
    this.seReduce = new Conv2d(store, `${name}._se_reduce`, oup, squeezed, 1, 1, 0, rng, se);
    this.seExpand = new Conv2d(store, `${name}._se_expand`, squeezed, oup, 1, 1, 0, rng, se);
    this.project = new Conv2d(store, `${name}._project_conv`, oup, outFilters, 1, 1, 0, rng, conv);
    this.bn2 = new BatchNorm2d(store, `${name}._bn2`, outFilters, 0.01, 0.1);
  }

  apply(inputs: tf.Tensor4D, training: boolean, rng: Rng | undefined): tf.Tensor4D {
    let x = swish(this.bn0.apply(this.expand.apply(inputs), training)) as tf.Tensor4D;
    x = swish(this.bn1.apply(this.depthwise.apply(x), training)) as tf.Tensor4D;
    const squeezed = tf.mean(x, [1, 2], true) as tf.Tensor4D;
    const gate = tf.sigmoid(this.seExpand.apply(swish(this.seReduce.apply(squeezed)) as tf.Tensor4D));
    x = this.bn2.apply(this.project.apply(tf.mul(gate, x) as tf.Tensor4D), training);
    if (this.stride === 1 && this.inFilters === this.outFilters) {
      return tf.add(dropPath(x, this.dropConnect, training, rng), inputs) as tf.Tensor4D;
    }
    return x;
  }
}

/** The relative-position index of Relative_Attention, zero-padded in front for the extra tokens (the quirk). */
function relativePositionIndex(h: number, w: number, extra: number): Int32Array {
  const n = h * w;
  const total = n + extra;
  const index = new Int32Array(total * total);
  for (let i = 0; i < n; i++) {
    const [hi, wi] = [Math.floor(i / w), i % w];
    for (let j = 0; j < n; j++) {
      const [hj, wj] = [Math.floor(j / w), j % w];
      index[(i + extra) * total + (j + extra)] = (hi - hj + h - 1) * (2 * w - 1) + (wi - wj + w - 1);
    }
  }
  return index;
}

/**
 * Relative_Attention (models/MHSA.py): qkv without bias, scale hd^−½, plus a learned relative-position bias
 * table [(2h−1)(2w−1)+1, heads] read through a fixed index. The index is zero-padded for the E extra tokens, so
 * every extra-token row and column reads entry 0 (also a real offset's entry) and the "+1" slot is never used.
 */
class RelativeAttention {
  readonly qkv: { weight: tf.Variable };
  readonly proj: { weight: tf.Variable; bias?: tf.Variable };
  readonly table: tf.Variable;
  readonly index: tf.Tensor1D;
  readonly scale: number;
  readonly numTokens: number;
  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly grid: number,
    readonly extra: number,
    readonly heads: number,
    rng: Rng,
  ) {
    if (dim % heads !== 0) throw invalid('INVALID_ARGUMENT', 'config.numHeads', `a divisor of ${dim}`, String(heads));
    this.scale = (dim / heads) ** -0.5;
    this.numTokens = grid * grid + extra;
    this.table = store.add(
      `${name}.relative_position_bias_table`,
      init.truncNormal([(2 * grid - 1) * (2 * grid - 1) + 1, heads], rng),
    );
    const index = relativePositionIndex(grid, grid, extra);
    store.addConstant(`${name}.relative_position_index`, [this.numTokens, this.numTokens], Float32Array.from(index));
    this.index = tf.keep(tf.tensor1d(index, 'int32'));
    this.qkv = addLinear(store, `${name}.qkv`, dim, 3 * dim, rng, { bias: false });
    this.proj = addLinear(store, `${name}.proj`, dim, dim, rng);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    const n = this.numTokens;
    const [q, k, v] = tf.split(linear(x, this.qkv.weight), 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const bias = tf.transpose(tf.reshape(tf.gather(this.table, this.index), [n, n, this.heads]), [2, 0, 1]);
    // softmax(q·kᵀ·scale + bias)·v as one fused op, the bias [H, N, N] broadcast over the batch (and differentiated).
    const heads = scaledDotProductAttention(
      splitHeads(q, this.heads),
      splitHeads(k, this.heads),
      splitHeads(v, this.heads),
      {
        scale: this.scale,
        mask: bias,
      },
    );
    return linear(mergeHeads(heads), this.proj.weight, this.proj.bias) as tf.Tensor3D;
  }

  dispose(): void {
    this.index.dispose();
  }
}

/**
 * MHSABlock (models/MHSA.py), pre-norm with LayerNorm eps 1e-5; the first block of a stage downsamples with
 * OverlapPatchEmbed (conv 3×3 s2 p1 → flatten → LN) and prepends the extra tokens [cls, meta_1 … meta_k].
 */
class MHSABlock {
  readonly patchEmbed?: { conv: Conv2d; norm: { gamma: tf.Variable; beta: tf.Variable } };
  readonly norm1: { gamma: tf.Variable; beta: tf.Variable };
  readonly norm2: { gamma: tf.Variable; beta: tf.Variable };
  readonly attn: RelativeAttention;
  readonly mlp: Mlp;
  readonly grid: number;
  constructor(
    store: ParamStore,
    name: string,
    inputDim: number,
    readonly outputDim: number,
    imageSize: number,
    stride: number,
    heads: number,
    extra: number,
    mlpRatio: number,
    readonly dropPathRate: number,
    rng: Rng,
  ) {
    if (stride !== 1) {
      this.patchEmbed = {
        conv: new Conv2d(store, `${name}.patch_embed.proj`, inputDim, outputDim, 3, stride, 1, rng, {
          bias: true,
          init: 'kaiming_fan_out',
        }),
        norm: addLayerNorm(store, `${name}.patch_embed.norm`, outputDim),
      };
      this.grid = Math.floor(imageSize / 2);
    } else {
      this.grid = imageSize;
    }
    this.norm1 = addLayerNorm(store, `${name}.norm1`, outputDim);
    this.attn = new RelativeAttention(store, `${name}.attn`, outputDim, this.grid, extra, heads, rng);
    this.norm2 = addLayerNorm(store, `${name}.norm2`, outputDim);
    this.mlp = new Mlp(store, `${name}.mlp`, outputDim, Math.floor(outputDim * mlpRatio), rng);
  }

  apply(x: tf.Tensor, training: boolean, rng: Rng | undefined, extraTokens?: tf.Tensor3D[]): tf.Tensor3D {
    let tokens = x as tf.Tensor3D;
    if (this.patchEmbed) {
      const y = this.patchEmbed.conv.apply(x as tf.Tensor4D);
      const [b, h, w, c] = y.shape;
      const flat = layerNorm(tf.reshape(y, [b, h * w, c]), this.patchEmbed.norm.gamma, this.patchEmbed.norm.beta, 1e-5);
      tokens = tf.concat([...(extraTokens ?? []), flat], 1) as tf.Tensor3D;
    }
    const a = this.attn.apply(layerNorm(tokens, this.norm1.gamma, this.norm1.beta, 1e-5) as tf.Tensor3D);
    const x1 = tf.add(tokens, dropPath(a, this.dropPathRate, training, rng));
    const m = this.mlp.apply(layerNorm(x1, this.norm2.gamma, this.norm2.beta, 1e-5));
    return tf.add(x1, dropPath(m, this.dropPathRate, training, rng)) as tf.Tensor3D;
  }
}

export interface MetaFormerConfig {
  imageSize?: number;
  inChannels?: number;
  numClasses?: number;
  convEmbedDims?: [number, number, number];
  attnEmbedDims?: [number, number];
  /** conv_depths; entry 0 belongs to the stem and is unused (as in the reference). */
  convDepths?: [number, number, number];
  attnDepths?: [number, number];
  numHeads?: number;
  mlpRatio?: number;
  /** Widths of the meta groups, e.g. [4, 3] for spatio-temporal meta; [] disables meta tokens (add_meta off). */
  metaDims?: number[];
  /** Extra tokens per attention stage: 1 (cls) + meta tokens. Default 1 + metaDims.length. */
  extraTokenNum?: number;
  /** Use cls_2 alone instead of aggregating the two class tokens. */
  onlyLastCls?: boolean;
  /** Stochastic depth, linear over the conv stages 1–2 and the attention blocks (config default 0.1). Default 0. */
  dropPathRate?: number;
  /** The meta-dropout schedule (mask_prob 1.0, 'linear'). */
  metaMask?: MetaMaskOptions;
  seed?: number | string;
}

const METAFORMER_SPEC: OptionsSpec<MetaFormerConfig> = {
  imageSize: true,
  inChannels: true,
  numClasses: true,
  convEmbedDims: true,
  attnEmbedDims: true,
  convDepths: true,
  attnDepths: true,
  numHeads: true,
  mlpRatio: true,
  metaDims: true,
  extraTokenNum: true,
  onlyLastCls: true,
  dropPathRate: true,
  metaMask: true,
  seed: true,
};

/** Throws naming `argument` unless `value` is an array of `n` positive integers. */
function checkDims(value: unknown, n: number, argument: string, min = 1): void {
  if (!Array.isArray(value) || value.length !== n) {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      `an array of ${n} integers`,
      Array.isArray(value) ? `an array of length ${value.length}` : String(value),
    );
  }
  for (const [i, v] of value.entries()) checkNumber(v, `${argument}[${i}]`, { min, integer: true });
}

export interface MetaFormerForwardOptions {
  training?: boolean;
  /** Draws drop-path masks and the meta-dropout subset; defaults to a generator seeded by the model's seed. */
  rng?: Rng;
  /** Current epoch and total epochs for the linear meta-dropout schedule. Without them nothing is masked (the
   * reference starts with cur_epoch = total_epoch = −1, i.e. p = 0). */
  epoch?: number;
  totalEpochs?: number;
}

export interface MetaFormerOutput {
  logits: tf.Tensor2D;
  /** The aggregated class feature fed to the head [B, C₂]. */
  features: tf.Tensor2D;
  /** cls_1 after norm_1 and cl_1_fc [B, C₂] (absent with onlyLastCls). */
  cls1?: tf.Tensor2D;
  /** cls_2 after norm_2 [B, C₂]. */
  cls2: tf.Tensor2D;
}

/**
 * MetaFormer with meta tokens — MetaFG_Meta (arXiv 2203.02751; dqshuai/MetaFormer models/MetaFG_meta.py @669bf18).
 * Conv stem (stride 4) → MBConv stages 1–2 → attention stage 3 with tokens [cls_1, meta…, patches] → cls_1 = LN →
 * Mlp → LN; extra tokens dropped, stage 4 with [cls_2, meta…, patches] → cls_2 = LN → stack(cls_1, cls_2) →
 * Conv1d(2 → 1, k 1) → LN → head. Meta groups are encoded by `MetaEncoder`s (one per stage width). In training,
 * the meta vectors of int(B·p) random samples are zeroed, p = mask_prob − epoch/total_epochs.
 * Images are NHWC; meta is [B, Σ metaDims] (or [B, T, metaDim] with a single group, one token per row).
 */
export class MetaFormer extends Module {
  readonly config: Required<Omit<MetaFormerConfig, 'seed' | 'metaMask'>> & { metaMask: MetaMaskOptions };
  private readonly rng: Rng;
  private readonly stem: { conv: Conv2d; bn?: BatchNorm2d }[];
  private readonly bn1: BatchNorm2d;
  private readonly stage1: MBConvBlock[];
  private readonly stage2: MBConvBlock[];
  private readonly stage3: MHSABlock[];
  private readonly stage4: MHSABlock[];
  private readonly clsToken1: tf.Variable;
  private readonly clsToken2: tf.Variable;
  private readonly metaHeads: [MetaEncoder, MetaEncoder][] = [];
  private readonly norm2: { gamma: tf.Variable; beta: tf.Variable };
  private readonly aggregate?: {
    fc: Mlp;
    fcNorm: { gamma: tf.Variable; beta: tf.Variable };
    conv: tf.Variable;
    bias: tf.Variable;
    norm: { gamma: tf.Variable; beta: tf.Variable };
    norm1: { gamma: tf.Variable; beta: tf.Variable };
  };
  private readonly head?: { weight: tf.Variable; bias?: tf.Variable };

  constructor(config: MetaFormerConfig = {}) {
    super();
    checkOptions<MetaFormerConfig>(config, METAFORMER_SPEC, 'config');
    checkOptions<MetaMaskOptions>(
      config.metaMask,
      { maskProb: true, maskType: ['linear', 'constant'] },
      'config.metaMask',
    );
    if (config.metaDims !== undefined && !Array.isArray(config.metaDims)) {
      throw invalid('INVALID_ARGUMENT', 'config.metaDims', 'an array of meta group widths', String(config.metaDims));
    }
    const metaDims = config.metaDims ?? [4, 3];
    const c = {
      imageSize: 224,
      inChannels: 3,
      numClasses: 1000,
      convEmbedDims: [64, 96, 192] as [number, number, number],
      attnEmbedDims: [384, 768] as [number, number],
      convDepths: [2, 2, 3] as [number, number, number],
      attnDepths: [5, 2] as [number, number],
      numHeads: 8,
      mlpRatio: 4,
      extraTokenNum: 1 + metaDims.length,
      onlyLastCls: false,
      dropPathRate: 0,
      metaMask: { maskProb: 1, maskType: 'linear' as const },
      ...config,
      metaDims,
    };
    checkNumber(c.imageSize, 'config.imageSize', { min: 32, integer: true });
    checkNumber(c.inChannels, 'config.inChannels', { min: 1, integer: true });
    checkNumber(c.numHeads, 'config.numHeads', { min: 1, integer: true });
    checkNumber(c.mlpRatio, 'config.mlpRatio', { min: 0, minExclusive: true });
    checkNumber(c.dropPathRate, 'config.dropPathRate', { min: 0, max: 1 });
    checkDims(c.convEmbedDims, 3, 'config.convEmbedDims');
    checkDims(c.attnEmbedDims, 2, 'config.attnEmbedDims');
    checkDims(c.convDepths, 3, 'config.convDepths', 0);
    checkDims(c.attnDepths, 2, 'config.attnDepths');
    if (c.imageSize % 32 !== 0) {
      throw invalid('INVALID_ARGUMENT', 'config.imageSize', 'a multiple of 32 (total stride 32)', String(c.imageSize));
    }
    checkNumber(c.numClasses, 'config.numClasses', { min: 0, integer: true });
    checkNumber(c.extraTokenNum, 'config.extraTokenNum', { min: 1, integer: true });
    for (const [i, d] of metaDims.entries()) checkNumber(d, `config.metaDims[${i}]`, { min: 1, integer: true });
    for (const [i, d] of c.attnEmbedDims.entries()) {
      if (d % c.numHeads !== 0) {
        throw invalid(
          'INVALID_ARGUMENT',
          'config.numHeads',
          `a divisor of attnEmbedDims[${i}] = ${d}`,
          String(c.numHeads),
        );
      }
    }
    const { seed, ...rest } = c;
    this.config = rest;
    const rng = createRng(seed ?? 0);
    this.rng = rng.fork();
    const s = this.params;
    const [a0, a1] = c.attnEmbedDims;
    for (const [i, d] of metaDims.entries()) {
      this.metaHeads.push([
        new MetaEncoder(s, `meta_${i + 1}_head_1`, d, a0, rng),
        new MetaEncoder(s, `meta_${i + 1}_head_2`, d, a1, rng),
      ]);
    }
    const c0 = c.convEmbedDims[0];
    const stemChs = [3 * Math.floor(c0 / 4), c0];
    const conv = { init: 'kaiming_fan_out' as const };
    this.stem = [
      {
        conv: new Conv2d(s, 'stage_0.0', c.inChannels, stemChs[0]!, 3, 2, 1, rng, conv),
        bn: new BatchNorm2d(s, 'stage_0.1', stemChs[0]!),
      },
      {
        conv: new Conv2d(s, 'stage_0.3', stemChs[0]!, stemChs[1]!, 3, 1, 1, rng, conv),
        bn: new BatchNorm2d(s, 'stage_0.4', stemChs[1]!),
      },
      { conv: new Conv2d(s, 'stage_0.6', stemChs[1]!, c0, 3, 1, 1, rng, conv) },
    ];
    this.bn1 = new BatchNorm2d(s, 'bn1', c0);
    const depths = [...c.convDepths, ...c.attnDepths];
    const dims = [...c.convEmbedDims, ...c.attnEmbedDims];
    const total = depths.slice(1).reduce((a, d) => a + d, 0);
    const dpr = Array.from({ length: total }, (_, i) => (total > 1 ? (c.dropPathRate * i) / (total - 1) : 0));
    const rate = (stage: number, block: number) => dpr[depths.slice(1, stage).reduce((a, d) => a + d, 0) + block]!;
    const mbStage = (stage: number) =>
      Array.from(
        { length: depths[stage]! },
        (_, b) =>
          new MBConvBlock(
            s,
            `stage_${stage}.${b}`,
            b === 0 ? dims[stage - 1]! : dims[stage]!,
            dims[stage]!,
            Math.floor(c.mlpRatio),
            b === 0 && stage !== 1 ? 2 : 1,
            rate(stage, b),
            rng,
          ),
      );
    this.stage1 = mbStage(1);
    this.stage2 = mbStage(2);
    this.clsToken1 = s.add('cls_token_1', init.truncNormal([1, 1, a0], rng));
    const attnStage = (stage: number, size: number) =>
      Array.from(
        { length: depths[stage]! },
        (_, b) =>
          new MHSABlock(
            s,
            `stage_${stage}.${b}`,
            b === 0 ? dims[stage - 1]! : dims[stage]!,
            dims[stage]!,
            b === 0 ? size : Math.floor(size / 2),
            b === 0 ? 2 : 1,
            c.numHeads,
            c.extraTokenNum,
            c.mlpRatio,
            rate(stage, b),
            rng,
          ),
      );
    this.stage3 = attnStage(3, c.imageSize / 8);
    this.clsToken2 = s.add('cls_token_2', init.truncNormal([1, 1, a1], rng));
    this.stage4 = attnStage(4, c.imageSize / 16);
    this.norm2 = addLayerNorm(s, 'norm_2', a1);
    if (!c.onlyLastCls) {
      // Conv1d(2, 1, 1) keeps PyTorch's default init (fan_in 2).
      this.aggregate = {
        fc: new Mlp(s, 'cl_1_fc.0', a0, a0, rng, a1),
        fcNorm: addLayerNorm(s, 'cl_1_fc.1', a1),
        conv: s.add('aggregate.weight', init.torchDefault([1, 2, 1], rng, 2)),
        bias: s.add('aggregate.bias', init.torchDefault([1], rng, 2)),
        norm: addLayerNorm(s, 'norm', a1),
        norm1: addLayerNorm(s, 'norm_1', a0),
      };
    }
    if (c.numClasses > 0) this.head = addLinear(s, 'head', a1, c.numClasses, rng);
  }

  private checkInputs(images: unknown, meta: unknown): { x: tf.Tensor4D; meta?: tf.Tensor } {
    const x = assertRank(images, 4, 'images') as tf.Tensor4D;
    const { imageSize, inChannels, metaDims, extraTokenNum } = this.config;
    if (x.shape[1] !== imageSize || x.shape[2] !== imageSize || x.shape[3] !== inChannels) {
      throw invalid(
        'SHAPE_MISMATCH',
        'images',
        `NHWC [B, ${imageSize}, ${imageSize}, ${inChannels}]`,
        `shape ${formatShape(x.shape)}`,
      );
    }
    if (metaDims.length === 0) {
      if (meta !== undefined && meta !== null) {
        throw invalid('INVALID_ARGUMENT', 'meta', 'no meta input (metaDims is empty)', 'a meta tensor');
      }
      if (extraTokenNum !== 1) throw invalid('INVALID_ARGUMENT', 'config.extraTokenNum', '1 without meta', '>1');
      return { x };
    }
    if (meta === undefined || meta === null) {
      throw invalid('INVALID_ARGUMENT', 'meta', `a meta tensor [B, ${metaDims.reduce((a, d) => a + d, 0)}]`, 'none');
    }
    const m = meta as tf.Tensor;
    const width = metaDims.reduce((a, d) => a + d, 0);
    const b = x.shape[0];
    if (m.rank === 2) {
      assertRank(m, 2, 'meta');
      if (m.shape[0] !== b || m.shape[1] !== width) {
        throw invalid('SHAPE_MISMATCH', 'meta', `shape [${b}, ${width}] (Σ metaDims)`, `shape ${formatShape(m.shape)}`);
      }
      if (extraTokenNum !== 1 + metaDims.length) {
        throw invalid(
          'SHAPE_MISMATCH',
          'meta',
          `${extraTokenNum - 1} meta tokens (config.extraTokenNum − 1)`,
          `${metaDims.length} meta groups`,
        );
      }
    } else if (m.rank === 3 && metaDims.length === 1) {
      if (m.shape[0] !== b || m.shape[2] !== width || m.shape[1] !== extraTokenNum - 1) {
        throw invalid(
          'SHAPE_MISMATCH',
          'meta',
          `shape [${b}, ${extraTokenNum - 1}, ${width}]`,
          `shape ${formatShape(m.shape)}`,
        );
      }
    } else {
      throw invalid('INVALID_RANK', 'meta', `a rank-2 tensor [${b}, ${width}]`, `shape ${formatShape(m.shape)}`);
    }
    return { x, meta: m };
  }

  forward(images: tf.Tensor4D, meta?: tf.Tensor | null, options: MetaFormerForwardOptions = {}): MetaFormerOutput {
    checkOptions<MetaFormerForwardOptions>(options, { training: true, rng: true, epoch: true, totalEpochs: true });
    const { x: x0, meta: m0 } = this.checkInputs(images, meta);
    const training = options.training ?? false;
    const rng = options.rng ?? this.rng;
    let p = 0;
    if (training && m0 && options.epoch !== undefined && options.totalEpochs !== undefined) {
      p = metaMaskProbability(options.epoch, options.totalEpochs, this.config.metaMask);
    }
    return tf.tidy(() => {
      const b = x0.shape[0];
      const [a0, a1] = this.config.attnEmbedDims;
      const extras1: tf.Tensor3D[] = [tf.tile(this.clsToken1, [b, 1, 1]) as tf.Tensor3D];
      const extras2: tf.Tensor3D[] = [tf.tile(this.clsToken2, [b, 1, 1]) as tf.Tensor3D];
      if (m0) {
        const m = p !== 0 ? applyMetaDropout(m0.rank === 2 ? m0 : tf.reshape(m0, [b, -1]), p, rng) : m0;
        const metaIn = m0.rank === 2 ? m : tf.reshape(m, m0.shape);
        const groups =
          this.metaHeads.length > 1 ? tf.split(metaIn, this.config.metaDims, 1) : ([metaIn] as tf.Tensor[]);
        groups.forEach((g, i) => {
          const [h1, h2] = this.metaHeads[i]!;
          extras1.push(tf.reshape(h1.apply(g), [b, -1, a0]) as tf.Tensor3D);
          extras2.push(tf.reshape(h2.apply(g), [b, -1, a1]) as tf.Tensor3D);
        });
      }
      let x = x0 as tf.Tensor4D;
      for (const { conv, bn } of this.stem) {
        x = conv.apply(x);
        if (bn) x = tf.relu(bn.apply(x, training)) as tf.Tensor4D;
      }
      x = tf.relu(this.bn1.apply(x, training)) as tf.Tensor4D;
      // MaxPool 3×3 s2 p1: the input is post-ReLU (≥ 0), so zero padding equals PyTorch's −∞ padding.
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
      for (const blk of [...this.stage1, ...this.stage2]) x = blk.apply(x, training, rng);
      let t: tf.Tensor3D = x as unknown as tf.Tensor3D;
      this.stage3.forEach((blk, i) => {
        t = blk.apply(i === 0 ? x : t, training, rng, i === 0 ? extras1 : undefined);
      });
      const E = this.config.extraTokenNum;
      let cls1: tf.Tensor2D | undefined;
      if (this.aggregate) {
        const c1 = tf.reshape(tf.slice(t, [0, 0, 0], [b, 1, a0]), [b, a0]);
        const n1 = layerNorm(c1, this.aggregate.norm1.gamma, this.aggregate.norm1.beta, 1e-5);
        cls1 = layerNorm(
          this.aggregate.fc.apply(n1),
          this.aggregate.fcNorm.gamma,
          this.aggregate.fcNorm.beta,
          1e-5,
        ) as tf.Tensor2D;
      }
      const g3 = this.stage3[this.stage3.length - 1]!.grid;
      const patches = tf.reshape(tf.slice(t, [0, E, 0], [b, g3 * g3, a0]), [b, g3, g3, a0]) as tf.Tensor4D;
      let u: tf.Tensor3D = patches as unknown as tf.Tensor3D;
      this.stage4.forEach((blk, i) => {
        u = blk.apply(i === 0 ? patches : u, training, rng, i === 0 ? extras2 : undefined);
      });
      const cls2 = layerNorm(
        tf.reshape(tf.slice(u, [0, 0, 0], [b, 1, a1]), [b, a1]),
        this.norm2.gamma,
        this.norm2.beta,
        1e-5,
      ) as tf.Tensor2D;
      let features = cls2;
      if (this.aggregate && cls1) {
        // Conv1d(2 → 1, k = 1) over the stacked [cls_1, cls_2]: w₀·cls_1 + w₁·cls_2 + b.
        const w = tf.reshape(this.aggregate.conv, [2]);
        const mixed = tf.add(
          tf.add(tf.mul(cls1, tf.slice(w, [0], [1])), tf.mul(cls2, tf.slice(w, [1], [1]))),
          this.aggregate.bias,
        );
        features = layerNorm(mixed, this.aggregate.norm.gamma, this.aggregate.norm.beta, 1e-5) as tf.Tensor2D;
      }
      const logits = this.head
        ? (linear(features, this.head.weight, this.head.bias) as tf.Tensor2D)
        : (tf.zeros([b, 0]) as tf.Tensor2D);
      const out: Record<string, tf.Tensor> = { logits, features, cls2 };
      if (cls1) out.cls1 = cls1;
      return out;
    }) as unknown as MetaFormerOutput;
  }

  override dispose(): void {
    for (const blk of [...this.stage3, ...this.stage4]) blk.attn.dispose();
    super.dispose();
  }
}

/** MetaFG_meta_0/1/2 configs (models/MetaFG_meta.py): conv/attn dims and depths, 8 heads, mlp_ratio 4. */
export const METAFORMER_PRESETS = {
  'metafg-meta-0': {
    convEmbedDims: [64, 96, 192],
    attnEmbedDims: [384, 768],
    convDepths: [2, 2, 3],
    attnDepths: [5, 2],
    numHeads: 8,
  },
  'metafg-meta-1': {
    convEmbedDims: [64, 96, 192],
    attnEmbedDims: [384, 768],
    convDepths: [2, 2, 6],
    attnDepths: [14, 2],
    numHeads: 8,
  },
  'metafg-meta-2': {
    convEmbedDims: [128, 128, 256],
    attnEmbedDims: [512, 1024],
    convDepths: [2, 2, 6],
    attnDepths: [14, 2],
    numHeads: 8,
  },
} as const satisfies Record<string, MetaFormerConfig>;

export function createMetaFormer(
  preset: keyof typeof METAFORMER_PRESETS,
  overrides: MetaFormerConfig = {},
): MetaFormer {
  checkOptions<MetaFormerConfig>(overrides, METAFORMER_SPEC, 'overrides');
  const base = Object.hasOwn(METAFORMER_PRESETS, preset as string)
    ? (METAFORMER_PRESETS as Record<string, MetaFormerConfig>)[preset]
    : undefined;
  if (!base) {
    throw invalid('INVALID_ARGUMENT', 'preset', `one of ${Object.keys(METAFORMER_PRESETS).join(', ')}`, String(preset));
  }
  return new MetaFormer({
    ...(JSON.parse(JSON.stringify(base)) as MetaFormerConfig),
    ...overrides,
  });
}
