import { checkNumber, createRng, invalid, type Rng, tf } from '@distillery/tensor';
import { addLayerNorm, addLinear, dropPath, init, layerNorm, linear } from '../core/layers';
import { Module, type ParamStore } from '../core/module';
import { Mlp, mergeHeads, splitHeads } from '../vit/blocks';
import { ConvTokenizers, type MFTConfig } from './mft';

/**
 * Average pooling with kernel = stride = s over a [B, p, p, D] grid, ceil mode, dividing by the number of valid
 * pixels (PyTorch `avg_pool2d(s, s, ceil_mode=True, count_include_pad=False)`), so an 11×11 patch pools to 6×6
 * (s = 2) or 3×3 (s = 4).
 */
export function ceilAvgPool(grid: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return grid;
  const [b, p, q, d] = grid.shape;
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
  void b;
  void d;
  return tf.mul(tf.avgPool(padded, s, s, 'valid'), tf.tensor4d(counts, [1, m, n, 1])) as tf.Tensor4D;
}

/**
 * Multi-scale multi-head self-attention (MSMHSA). MMFormer (Zhang et al., arXiv, 23 Mar 2023, "Multimodal Transformer Using
 * Multiscale Self-Attention for Remote Sensing Image Classification"; no official code) describes it only as fusing
 * HSI and LiDAR tokens coarse to fine. The choices here, documented:
 * - the tokens are [cls, HSI pixel tokens (p×p), LiDAR pixel tokens (p×p)];
 * - the heads are split into groups, one per entry of `scales` (listed coarse → fine, e.g. [4, 2, 1, 1]);
 * - in group g every token queries keys/values of [cls, pool_s(HSI grid), pool_s(LiDAR grid)], pool_s being the
 *   ceil-mode average pooling above (s = 1: full resolution), so coarse heads see region summaries of both
 *   modalities and fine heads see pixels;
 * - the groups' outputs are concatenated (coarse → fine) and projected (timm-style qkv/proj Linear, qkv bias).
 */
export class MultiScaleAttention {
  readonly qkv: { weight: tf.Variable; bias?: tf.Variable };
  readonly proj: { weight: tf.Variable; bias?: tf.Variable };
  readonly headDim: number;
  readonly headsPerScale: number;
  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly heads: number,
    readonly scales: number[],
    readonly grid: number,
    rng: Rng,
  ) {
    if (heads % scales.length !== 0) {
      throw invalid('INVALID_ARGUMENT', 'config.scales', `a divisor of heads (${heads}) in length`, String(scales));
    }
    this.headDim = dim / heads;
    this.headsPerScale = heads / scales.length;
    this.qkv = addLinear(store, `${name}.qkv`, dim, 3 * dim, rng);
    this.proj = addLinear(store, `${name}.proj`, dim, dim, rng);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    const [b, , d] = x.shape;
    const p = this.grid;
    const [q, k, v] = tf.split(linear(x, this.qkv.weight, this.qkv.bias), 3, -1) as tf.Tensor3D[];
    const qh = tf.mul(splitHeads(q!, this.heads), this.headDim ** -0.5);
    const pooled = (t: tf.Tensor3D, s: number) => {
      const cls = tf.slice(t, [0, 0, 0], [b, 1, d]);
      const hsi = ceilAvgPool(tf.reshape(tf.slice(t, [0, 1, 0], [b, p * p, d]), [b, p, p, d]) as tf.Tensor4D, s);
      const lidar = ceilAvgPool(
        tf.reshape(tf.slice(t, [0, 1 + p * p, 0], [b, p * p, d]), [b, p, p, d]) as tf.Tensor4D,
        s,
      );
      const m = hsi.shape[1] * hsi.shape[2];
      return tf.concat([cls, tf.reshape(hsi, [b, m, d]), tf.reshape(lidar, [b, m, d])], 1);
    };
    const outs: tf.Tensor[] = [];
    this.scales.forEach((s, g) => {
      const h0 = g * this.headsPerScale;
      const hs = this.headsPerScale;
      const pick = (t: tf.Tensor4D) => tf.slice(t, [0, h0, 0, 0], [b, hs, t.shape[2], this.headDim]);
      const kh = pick(splitHeads(pooled(k!, s) as tf.Tensor3D, this.heads));
      const vh = pick(splitHeads(pooled(v!, s) as tf.Tensor3D, this.heads));
      const attn = tf.softmax(tf.matMul(pick(qh as tf.Tensor4D), kh, false, true));
      outs.push(tf.matMul(attn, vh));
    });
    return linear(mergeHeads(tf.concat(outs, 1)), this.proj.weight, this.proj.bias) as tf.Tensor3D;
  }
}

export interface MMFormerConfig extends Omit<MFTConfig, 'heads' | 'depth' | 'hsiTokens' | 'mlpHidden'> {
  /** Attention heads (8). */
  heads?: number;
  /** Encoder blocks (2). */
  depth?: number;
  /** Pooling factor of each head group, coarse → fine (default [4, 2, 1, 1]: 2 heads each). */
  scales?: number[];
  /** MLP ratio of the encoder blocks (4). */
  mlpRatio?: number;
  dropPathRate?: number;
}

/**
 * MMFormer-style multimodal transformer: the MFT conv tokenizers (`MFT.hsiFeatures` / `lidarFeatures`: Conv3d +
 * HetConv for the hyperspectral cube, Conv2d for the LiDAR raster) produce p×p pixel tokens per modality; with a
 * learned cls token and a position embedding [1, 1 + 2p², D] they pass through pre-norm blocks of
 * `MultiScaleAttention` (see its comment for the documented design) and an MLP; LN(cls) → Linear. Inputs are NHWC
 * patches [B, p, p, NC] and [B, p, p, NCL].
 */
export class MMFormer extends Module {
  readonly tokenizers: ConvTokenizers;
  readonly config: Required<Omit<MMFormerConfig, 'seed'>>;
  private readonly clsToken: tf.Variable;
  private readonly posEmbed: tf.Variable;
  private readonly blocks: {
    norm1: { gamma: tf.Variable; beta: tf.Variable };
    attn: MultiScaleAttention;
    norm2: { gamma: tf.Variable; beta: tf.Variable };
    mlp: Mlp;
    dropPath: number;
  }[] = [];
  private readonly norm: { gamma: tf.Variable; beta: tf.Variable };
  private readonly head: { weight: tf.Variable; bias?: tf.Variable };
  private readonly rng: Rng;

  constructor(config: MMFormerConfig) {
    super();
    const c = {
      patchSize: 11,
      fm: 16,
      heads: 8,
      depth: 2,
      scales: [4, 2, 1, 1],
      mlpRatio: 4,
      dropout: 0,
      dropPathRate: 0,
      ...config,
    };
    checkNumber(c.depth, 'config.depth', { min: 1, integer: true });
    for (const [i, s] of c.scales.entries()) checkNumber(s, `config.scales[${i}]`, { min: 1, integer: true });
    const { seed, ...rest } = c;
    this.config = rest;
    const rng = createRng(seed ?? 0);
    this.rng = rng.fork();
    const dim = 4 * c.fm;
    if (dim % c.heads !== 0) throw invalid('INVALID_ARGUMENT', 'config.heads', `a divisor of ${dim}`, String(c.heads));
    const s = this.params;
    const p = c.patchSize;
    this.tokenizers = new ConvTokenizers(s, 'tokenizer.', c.hsiBands, c.lidarBands, c.fm, rng);
    this.clsToken = s.add('cls_token', init.truncNormal([1, 1, dim], rng));
    this.posEmbed = s.add('pos_embed', init.truncNormal([1, 1 + 2 * p * p, dim], rng));
    for (let i = 0; i < c.depth; i++) {
      this.blocks.push({
        norm1: addLayerNorm(s, `blocks.${i}.norm1`, dim),
        attn: new MultiScaleAttention(s, `blocks.${i}.attn`, dim, c.heads, c.scales, p, rng),
        norm2: addLayerNorm(s, `blocks.${i}.norm2`, dim),
        mlp: new Mlp(s, `blocks.${i}.mlp`, dim, Math.floor(dim * c.mlpRatio), rng),
        dropPath: c.depth > 1 ? (c.dropPathRate * i) / (c.depth - 1) : 0,
      });
    }
    this.norm = addLayerNorm(s, 'norm', dim);
    this.head = addLinear(s, 'head', dim, c.numClasses, rng);
  }

  forward(
    hsi: tf.Tensor4D,
    lidar: tf.Tensor4D,
    options: { training?: boolean; rng?: Rng } = {},
  ): { logits: tf.Tensor2D; features: tf.Tensor2D } {
    this.tokenizers.checkInputs(hsi, lidar, this.config.patchSize);
    const training = options.training ?? false;
    const rng = options.rng ?? this.rng;
    return tf.tidy(() => {
      const b = hsi.shape[0];
      const p = this.config.patchSize;
      const dim = 4 * this.config.fm;
      const h = tf.reshape(this.tokenizers.hsiFeatures(hsi, training), [b, p * p, dim]);
      const l = tf.reshape(this.tokenizers.lidarFeatures(lidar, training), [b, p * p, dim]);
      let x = tf.add(tf.concat([tf.tile(this.clsToken, [b, 1, 1]), h, l], 1), this.posEmbed) as tf.Tensor3D;
      for (const blk of this.blocks) {
        const a = blk.attn.apply(layerNorm(x, blk.norm1.gamma, blk.norm1.beta, 1e-6) as tf.Tensor3D);
        x = tf.add(x, dropPath(a, blk.dropPath, training, rng)) as tf.Tensor3D;
        const m = blk.mlp.apply(layerNorm(x, blk.norm2.gamma, blk.norm2.beta, 1e-6));
        x = tf.add(x, dropPath(m, blk.dropPath, training, rng)) as tf.Tensor3D;
      }
      const features = layerNorm(
        tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, dim]), [b, dim]),
        this.norm.gamma,
        this.norm.beta,
        1e-6,
      ) as tf.Tensor2D;
      const logits = linear(features, this.head.weight, this.head.bias) as tf.Tensor2D;
      return { logits, features } as unknown as tf.TensorContainer;
    }) as unknown as { logits: tf.Tensor2D; features: tf.Tensor2D };
  }
}
