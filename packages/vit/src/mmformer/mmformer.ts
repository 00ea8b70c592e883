import { assertRank, checkNumber, checkOptions, createRng, invalid, type Rng, tf } from '@distillery/tensor';
import { addLayerNorm, addLinear, drop, dropPath, gelu, init, layerNorm, linear } from '../core/layers';
import { Module, type ParamStore } from '../core/module';
import { Attention } from '../vit/blocks';
import { ConvTokenizers, type MFTConfig } from './mft';

/**
 * Average pooling with kernel = stride = s over a [B, p, p, D] grid, ceil mode, dividing by the number of valid
 * pixels (PyTorch `avg_pool2d(s, s, ceil_mode=True, count_include_pad=False)`), so an 11×11 patch pools to 6×6
 * (s = 2) or 3×3 (s = 4).
 */
export function ceilAvgPool(grid: tf.Tensor4D, s: number): tf.Tensor4D {
  assertRank(grid, 4, 'grid');
  checkNumber(s, 's', { min: 1, integer: true });
  if (s === 1) return grid;
  const [, p, q] = grid.shape;
  const m = Math.ceil(p / s);
  const n = Math.ceil(q / s);
  const counts = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) counts[i * n + j] = (s * s) / (Math.min(s, p - i * s) * Math.min(s, q - j * s));
  }
  const padded = tf.pad(grid, [
    [0, 0],
    [0, m * s - p],
    [0, n * s - q],
    [0, 0],
  ]) as tf.Tensor4D;
  return tf.mul(tf.avgPool(padded, s, s, 'valid'), tf.tensor4d(counts, [1, m, n, 1])) as tf.Tensor4D;
}

/**
 * For a p×p grid pooled at a coarse scale s and a finer scale t (s divisible by t): the index of the coarse cell
 * that covers each fine cell, in raster order (fine cell (i, j) starts at pixel (i·t, j·t), inside coarse cell
 * (⌊i·t/s⌋, ⌊j·t/s⌋)).
 */
function coarseCellOf(p: number, s: number, t: number): Int32Array {
  const ms = Math.ceil(p / s);
  const mt = Math.ceil(p / t);
  const out = new Int32Array(mt * mt);
  for (let i = 0; i < mt; i++) {
    for (let j = 0; j < mt; j++) out[i * mt + j] = Math.floor((i * t) / s) * ms + Math.floor((j * t) / s);
  }
  return out;
}

/** Pre-norm transformer block with dropout where ViT/MFT put it (attention output, MLP hidden and output). */
class FusionBlock {
  readonly norm1: { gamma: tf.Variable; beta: tf.Variable };
  readonly attn: Attention;
  readonly norm2: { gamma: tf.Variable; beta: tf.Variable };
  readonly fc1: { weight: tf.Variable; bias?: tf.Variable };
  readonly fc2: { weight: tf.Variable; bias?: tf.Variable };
  constructor(
    store: ParamStore,
    name: string,
    dim: number,
    heads: number,
    hidden: number,
    readonly dropPathRate: number,
    rng: Rng,
  ) {
    this.norm1 = addLayerNorm(store, `${name}.norm1`, dim);
    this.attn = new Attention(store, `${name}.attn`, dim, heads, rng);
    this.norm2 = addLayerNorm(store, `${name}.norm2`, dim);
    this.fc1 = addLinear(store, `${name}.mlp.fc1`, dim, hidden, rng);
    this.fc2 = addLinear(store, `${name}.mlp.fc2`, hidden, dim, rng);
  }

  apply(x: tf.Tensor3D, training: boolean, dropout: number, rng: Rng): tf.Tensor3D {
    const a = drop(
      this.attn.apply(layerNorm(x, this.norm1.gamma, this.norm1.beta, 1e-6) as tf.Tensor3D).out,
      dropout,
      training,
      rng,
    );
    const x1 = tf.add(x, dropPath(a, this.dropPathRate, training, rng));
    const h = drop(
      gelu(linear(layerNorm(x1, this.norm2.gamma, this.norm2.beta, 1e-6), this.fc1.weight, this.fc1.bias)),
      dropout,
      training,
      rng,
    );
    const m = drop(linear(h, this.fc2.weight, this.fc2.bias), dropout, training, rng);
    return tf.add(x1, dropPath(m, this.dropPathRate, training, rng)) as tf.Tensor3D;
  }
}

export interface MMFormerConfig extends Omit<MFTConfig, 'heads' | 'depth' | 'hsiTokens' | 'mlpHidden'> {
  /** Attention heads of every block (8). */
  heads?: number;
  /** Transformer blocks per scale (1). */
  depth?: number;
  /**
   * The LiDAR pooling factors, coarse → fine (default [4, 2, 1]). Strictly decreasing, each divisible by the next,
   * so every fine LiDAR token lies inside one coarse token.
   */
  scales?: number[];
  /** MLP ratio of the blocks (4). */
  mlpRatio?: number;
  /** Dropout after the position embedding, on the attention output and in the MLP (0.1, as in MFT). */
  dropout?: number;
  /** Stochastic depth, linear from 0 to this over all blocks (0). */
  dropPathRate?: number;
}

const CONFIG_SPEC = {
  hsiBands: true,
  lidarBands: true,
  numClasses: true,
  patchSize: true,
  fm: true,
  heads: true,
  depth: true,
  scales: true,
  mlpRatio: true,
  dropout: true,
  dropPathRate: true,
  seed: true,
} as const;

export interface MMFormerForwardOptions {
  training?: boolean;
  /** Draws the dropout and drop-path masks in training (default: a generator seeded from the model's seed). */
  rng?: Rng;
}

/**
 * MMFormer (Zhang, Ming, Feng, Liu, He, Zhao, "Multimodal Transformer Using Multiscale Self-Attention for Remote
 * Sensing Image Classification", arXiv, 23 March 2023; OpenReview "RsMmFormer"). No official code is
 * published, and the paper text available to us (the abstract) fixes only this much: convolutional tokenizers for
 * the HSI and LiDAR patches, and a multi-scale multi-head self-attention (MSMHSA) that incorporates HSI into LiDAR
 * coarse to fine, to reconcile HSI's high spectral resolution with LiDAR's low spatial resolution. Our design:
 *
 * 1. Tokenizers: the MFT conv stacks (`ConvTokenizers`: Conv3d + HetConv for the HSI cube, Conv2d for the LiDAR
 *    raster) give p×p pixel tokens per modality. [cls, HSI p², LiDAR p²] + pos_embed [1, 1 + 2p², D], dropout.
 * 2. MSMHSA as a sequence of stages, one per scale s₁ > s₂ > … (default 4, 2, 1): stage k builds the LiDAR tokens
 *    at scale s_k, ℓ_k = avgpool_{s_k}(LiDAR grid) (ceil mode; s = 1 is the full grid), plus, for k > 1, the
 *    fusion update of stage k − 1 copied to every finer token it covers: ℓ_k += up(ℓ'_{k−1} − ℓ_{k−1}). It runs
 *    `depth` pre-norm blocks of multi-head self-attention + MLP over [cls, HSI tokens, ℓ_k], so the LiDAR tokens
 *    attend to the HSI tokens (HSI → LiDAR) and the cls/HSI tokens to the LiDAR tokens. The cls and HSI outputs
 *    carry on to the next stage; the LiDAR outputs ℓ'_k pass their update to the finer scale. So the order of the
 *    scales matters: coarse region summaries are fused first, then refined pixel by pixel.
 * 3. LN(cls) → Linear(classes).
 *
 * The open choices, stated: the HSI tokens stay at full resolution at every stage (HSI is the high-resolution
 * modality; only LiDAR is viewed coarse to fine); one position embedding at pixel level (pooled with the LiDAR
 * grid); the coarse-to-fine hand-over is the residual update copied to the covered fine cells (nearest-neighbour
 * upsampling); timm blocks (qkv bias, LN eps 1e-6, exact GELU, trunc-normal(0.02) Linear init, zero biases);
 * dropout in the places MFT puts it (after the position embedding, on the attention output, after the MLP's GELU
 * and on its output). Inputs are NHWC patches [B, p, p, NC] and [B, p, p, NCL]. Parameter names:
 * `tokenizer.*`, `cls_token`, `pos_embed`, `stages.<k>.blocks.<j>.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}`,
 * `norm`, `head`.
 */
export class MMFormer extends Module {
  readonly tokenizers: ConvTokenizers;
  readonly config: Required<Omit<MMFormerConfig, 'seed'>>;
  private readonly clsToken: tf.Variable;
  private readonly posEmbed: tf.Variable;
  private readonly stages: FusionBlock[][] = [];
  /** For stage k > 0: the coarse LiDAR token (of stage k − 1) that covers each LiDAR token of stage k. */
  private readonly upIndex: Int32Array[] = [];
  private readonly norm: { gamma: tf.Variable; beta: tf.Variable };
  private readonly head: { weight: tf.Variable; bias?: tf.Variable };
  private readonly rng: Rng;

  constructor(config: MMFormerConfig) {
    super();
    if (config === undefined) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config',
        'an MMFormer config { hsiBands, lidarBands, numClasses, … }',
        'undefined',
      );
    }
    checkOptions<MMFormerConfig>(config, CONFIG_SPEC, 'config');
    const c = {
      patchSize: 11,
      fm: 16,
      heads: 8,
      depth: 1,
      scales: [4, 2, 1],
      mlpRatio: 4,
      dropout: 0.1,
      dropPathRate: 0,
      ...config,
    };
    checkNumber(c.numClasses, 'config.numClasses', { min: 1, integer: true });
    checkNumber(c.patchSize, 'config.patchSize', { min: 1, integer: true });
    checkNumber(c.fm, 'config.fm', { min: 1, integer: true });
    checkNumber(c.heads, 'config.heads', { min: 1, integer: true });
    checkNumber(c.depth, 'config.depth', { min: 1, integer: true });
    checkNumber(c.mlpRatio, 'config.mlpRatio', { min: 0, minExclusive: true });
    checkNumber(c.dropout, 'config.dropout', { min: 0, max: 0.99 });
    checkNumber(c.dropPathRate, 'config.dropPathRate', { min: 0, max: 0.99 });
    if (!Array.isArray(c.scales) || c.scales.length === 0) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config.scales',
        'a non-empty array of pooling factors, coarse → fine',
        String(c.scales),
      );
    }
    for (const [i, s] of c.scales.entries()) checkNumber(s, `config.scales[${i}]`, { min: 1, integer: true });
    for (let k = 1; k < c.scales.length; k++) {
      const [prev, s] = [c.scales[k - 1]!, c.scales[k]!];
      if (!(s < prev) || prev % s !== 0) {
        throw invalid(
          'INVALID_ARGUMENT',
          `config.scales[${k}]`,
          `a divisor of the previous scale ${prev} smaller than it (coarse → fine)`,
          String(s),
        );
      }
    }
    const dim = 4 * c.fm;
    if (dim % c.heads !== 0) throw invalid('INVALID_ARGUMENT', 'config.heads', `a divisor of ${dim}`, String(c.heads));
    const { seed, ...rest } = c;
    this.config = { ...rest, scales: [...c.scales] };
    const rng = createRng(seed ?? 0);
    this.rng = rng.fork();
    const s = this.params;
    const p = c.patchSize;
    this.tokenizers = new ConvTokenizers(s, 'tokenizer.', c.hsiBands, c.lidarBands, c.fm, rng);
    this.clsToken = s.add('cls_token', init.truncNormal([1, 1, dim], rng));
    this.posEmbed = s.add('pos_embed', init.truncNormal([1, 1 + 2 * p * p, dim], rng));
    const total = c.scales.length * c.depth;
    c.scales.forEach((scale, k) => {
      const blocks: FusionBlock[] = [];
      for (let j = 0; j < c.depth; j++) {
        const i = k * c.depth + j;
        const rate = total > 1 ? (c.dropPathRate * i) / (total - 1) : 0;
        const hidden = Math.floor(dim * c.mlpRatio);
        blocks.push(new FusionBlock(s, `stages.${k}.blocks.${j}`, dim, c.heads, hidden, rate, rng));
      }
      this.stages.push(blocks);
      if (k > 0) this.upIndex.push(coarseCellOf(p, c.scales[k - 1]!, scale));
    });
    this.norm = addLayerNorm(s, 'norm', dim);
    this.head = addLinear(s, 'head', dim, c.numClasses, rng);
  }

  forward(
    hsi: tf.Tensor4D,
    lidar: tf.Tensor4D,
    options: MMFormerForwardOptions = {},
  ): { logits: tf.Tensor2D; features: tf.Tensor2D } {
    const { training = false, rng: optionRng } = checkOptions<MMFormerForwardOptions>(options, {
      training: true,
      rng: true,
    });
    this.tokenizers.checkInputs(hsi, lidar, this.config.patchSize);
    const rng = optionRng ?? this.rng;
    const { dropout, scales } = this.config;
    return tf.tidy(() => {
      const b = hsi.shape[0];
      const p = this.config.patchSize;
      const dim = 4 * this.config.fm;
      const n = 1 + p * p;
      const h = tf.reshape(this.tokenizers.hsiFeatures(hsi, training), [b, p * p, dim]);
      const l = tf.reshape(this.tokenizers.lidarFeatures(lidar, training), [b, p * p, dim]);
      const x0 = drop(
        tf.add(tf.concat([tf.tile(this.clsToken, [b, 1, 1]), h, l], 1), this.posEmbed),
        dropout,
        training,
        rng,
      ) as tf.Tensor3D;
      let z = tf.slice(x0, [0, 0, 0], [b, n, dim]) as tf.Tensor3D;
      const lidarGrid = tf.reshape(tf.slice(x0, [0, n, 0], [b, p * p, dim]), [b, p, p, dim]) as tf.Tensor4D;
      let update: tf.Tensor3D | undefined;
      scales.forEach((scale, k) => {
        const pooled = ceilAvgPool(lidarGrid, scale);
        const m = pooled.shape[1] * pooled.shape[2];
        let lk = tf.reshape(pooled, [b, m, dim]) as tf.Tensor3D;
        if (update) lk = tf.add(lk, tf.gather(update, tf.tensor1d(this.upIndex[k - 1]!, 'int32'), 1)) as tf.Tensor3D;
        let x = tf.concat([z, lk], 1) as tf.Tensor3D;
        for (const blk of this.stages[k]!) x = blk.apply(x, training, dropout, rng);
        z = tf.slice(x, [0, 0, 0], [b, n, dim]) as tf.Tensor3D;
        update = tf.sub(tf.slice(x, [0, n, 0], [b, m, dim]), lk) as tf.Tensor3D;
      });
      const features = layerNorm(
        tf.reshape(tf.slice(z, [0, 0, 0], [b, 1, dim]), [b, dim]),
        this.norm.gamma,
        this.norm.beta,
        1e-6,
      ) as tf.Tensor2D;
      const logits = linear(features, this.head.weight, this.head.bias) as tf.Tensor2D;
      return { logits, features } as unknown as tf.TensorContainer;
    }) as unknown as { logits: tf.Tensor2D; features: tf.Tensor2D };
  }
}
