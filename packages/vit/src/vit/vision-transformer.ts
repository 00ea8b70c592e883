import {
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  formatShape,
  invalid,
  type OptionsSpec,
  type Rng,
  tf,
} from '@distillery/tensor';
import { addLayerNorm, addLinear, init, layerNorm, linear } from '../core/layers';
import { Module } from '../core/module';
import { Block, PatchEmbed } from './blocks';

export interface VisionTransformerConfig {
  /** Square input size in pixels (the token count and pos_embed are fixed by it). */
  imageSize: number;
  patchSize: number;
  inChannels?: number;
  /** 0 gives no head (features only). Default 1000. */
  numClasses?: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  /** DeiT distillation token with its own head (`head_dist`). */
  distilled?: boolean;
  /** Stochastic depth, linear from 0 to this over the blocks (timm `drop_path_rate`). Default 0. */
  dropPathRate?: number;
  /** LayerScale init values (off for DeiT). */
  layerScaleInit?: number | null;
  /** 'conv' (Conv2d) or 'linear' (matmul over reshaped patches, same weights). */
  patchEmbed?: 'conv' | 'linear';
  /** cls_token init: 'timm' = normal std 1e-6 (current timm), 'deit' = trunc_normal 0.02 (original DeiT code). */
  clsTokenInit?: 'timm' | 'deit';
  /** LayerNorm epsilon, 1e-6 in timm/DeiT. */
  eps?: number;
  seed?: number | string;
}

/** The declared keys and enum values of VisionTransformerConfig (checked by the constructor and createViT). */
export const VIT_CONFIG_SPEC: OptionsSpec<VisionTransformerConfig> = {
  imageSize: true,
  patchSize: true,
  inChannels: true,
  numClasses: true,
  embedDim: true,
  depth: true,
  numHeads: true,
  mlpRatio: true,
  qkvBias: true,
  distilled: true,
  dropPathRate: true,
  layerScaleInit: true,
  patchEmbed: ['conv', 'linear'],
  clsTokenInit: ['timm', 'deit'],
  eps: true,
  seed: true,
};

export interface ForwardOptions {
  training?: boolean;
  /** Draws the drop-path masks in training; defaults to a generator seeded from the model's seed. */
  rng?: Rng;
  /** Block indices (0-based) whose output tokens [B, N, D] to return (before the final norm). */
  collect?: number[];
  /**
   * Return every block's attention map [B, H, N, N]. The attention then runs as batched matMuls and a softmax (the
   * maps must exist); without it, as one fused op.
   */
  returnAttention?: boolean;
}

export interface ViTOutput {
  /**
   * The prediction: head(cls) for a plain ViT; (head(cls) + head_dist(dist))/2 for a distilled model, which is
   * what DeiT returns at inference.
   */
  logits: tf.Tensor2D;
  /** head(x[:, 0]) (distilled models). Train DeiT with clsLogits against labels and distLogits against the teacher. */
  clsLogits?: tf.Tensor2D;
  /** head_dist(x[:, 1]) (distilled models). */
  distLogits?: tf.Tensor2D;
  /** Final-normed tokens [B, N, D]. */
  tokens: tf.Tensor3D;
  /** Output tokens of the blocks listed in `collect`. */
  blocks: Record<number, tf.Tensor3D>;
  attentions?: tf.Tensor4D[];
}

/**
 * ViT / DeiT (ViT arXiv 2010.11929, DeiT arXiv 2012.12877; timm models/vision_transformer.py and deit.py @aa4b5850,
 * facebookresearch/deit models.py). Tokens = cat(cls, [dist], patches) + pos_embed → pre-norm blocks → LN(eps 1e-6)
 * → head(x[:,0]) and, when distilled, head_dist(x[:,1]). Images are NHWC float32 [B, H, W, C].
 *
 * Parameters use timm state-dict names (`blocks.0.attn.qkv.weight`, …), so `loadSafetensors` reads a timm/DeiT
 * checkpoint saved with safetensors. Init follows timm's `init_weights_vit_timm`: Linear trunc_normal(0.02) and
 * zero bias; pos_embed and dist_token trunc_normal(0.02); cls_token normal(1e-6) (or trunc_normal 0.02 with
 * `clsTokenInit: 'deit'`); the patch conv keeps PyTorch's default; LN 1/0. Seeded by `seed`.
 */
export class VisionTransformer extends Module {
  readonly config: Required<Omit<VisionTransformerConfig, 'seed' | 'layerScaleInit'>> & {
    layerScaleInit: number | null;
  };
  readonly numPatches: number;
  /** Number of prefix tokens: 1 (cls) or 2 (cls, dist). */
  readonly numPrefixTokens: number;
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: tf.Variable;
  readonly distToken?: tf.Variable;
  readonly posEmbed: tf.Variable;
  readonly blocks: Block[];
  readonly norm: { gamma: tf.Variable; beta: tf.Variable };
  readonly head?: { weight: tf.Variable; bias?: tf.Variable };
  readonly headDist?: { weight: tf.Variable; bias?: tf.Variable };
  private readonly rng: Rng;

  constructor(config: VisionTransformerConfig) {
    super();
    checkOptions<VisionTransformerConfig>(config, VIT_CONFIG_SPEC, 'config');
    if (config === undefined) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config',
        'a config { imageSize, patchSize, embedDim, depth, numHeads, … }',
        'undefined',
      );
    }
    const c = {
      inChannels: 3,
      numClasses: 1000,
      mlpRatio: 4,
      qkvBias: true,
      distilled: false,
      dropPathRate: 0,
      layerScaleInit: null,
      patchEmbed: 'conv' as const,
      clsTokenInit: 'timm' as const,
      eps: 1e-6,
      ...config,
    };
    checkNumber(c.imageSize, 'config.imageSize', { min: 1, integer: true });
    checkNumber(c.patchSize, 'config.patchSize', { min: 1, integer: true });
    checkNumber(c.inChannels, 'config.inChannels', { min: 1, integer: true });
    checkNumber(c.numClasses, 'config.numClasses', { min: 0, integer: true });
    checkNumber(c.embedDim, 'config.embedDim', { min: 1, integer: true });
    checkNumber(c.depth, 'config.depth', { min: 0, integer: true });
    checkNumber(c.numHeads, 'config.numHeads', { min: 1, integer: true });
    checkNumber(c.dropPathRate, 'config.dropPathRate', { min: 0, max: 1 });
    checkNumber(c.mlpRatio, 'config.mlpRatio', { min: 0, minExclusive: true });
    checkNumber(c.eps, 'config.eps', { min: 0, minExclusive: true });
    if (c.layerScaleInit !== null) checkNumber(c.layerScaleInit, 'config.layerScaleInit');
    if (c.imageSize % c.patchSize !== 0) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config.patchSize',
        `a divisor of imageSize ${c.imageSize}`,
        String(c.patchSize),
      );
    }
    if (c.embedDim % c.numHeads !== 0) {
      throw invalid('INVALID_ARGUMENT', 'config.numHeads', `a divisor of embedDim ${c.embedDim}`, String(c.numHeads));
    }
    const { seed, ...rest } = c;
    this.config = rest as VisionTransformer['config'];
    const rng = createRng(seed ?? 0);
    this.rng = rng.fork();
    const D = c.embedDim;
    this.numPatches = (c.imageSize / c.patchSize) ** 2;
    this.numPrefixTokens = c.distilled ? 2 : 1;
    const store = this.params;
    this.clsToken = store.add(
      'cls_token',
      c.clsTokenInit === 'deit' ? init.truncNormal([1, 1, D], rng) : init.normal([1, 1, D], rng, 1e-6),
    );
    if (c.distilled) this.distToken = store.add('dist_token', init.truncNormal([1, 1, D], rng));
    this.posEmbed = store.add('pos_embed', init.truncNormal([1, this.numPatches + this.numPrefixTokens, D], rng));
    this.patchEmbed = new PatchEmbed(store, 'patch_embed', c.patchSize, c.inChannels, D, rng, c.patchEmbed);
    this.blocks = [];
    for (let i = 0; i < c.depth; i++) {
      const rate = c.depth > 1 ? (c.dropPathRate * i) / (c.depth - 1) : 0;
      this.blocks.push(
        new Block(store, `blocks.${i}`, D, c.numHeads, rng, {
          mlpRatio: c.mlpRatio,
          qkvBias: c.qkvBias,
          layerScaleInit: c.layerScaleInit,
          dropPath: rate,
          eps: c.eps,
        }),
      );
    }
    this.norm = addLayerNorm(store, 'norm', D);
    if (c.numClasses > 0) {
      this.head = addLinear(store, 'head', D, c.numClasses, rng);
      if (c.distilled) this.headDist = addLinear(store, 'head_dist', D, c.numClasses, rng);
    }
  }

  /** Throws a DistilleryError naming `images` unless they are [B, imageSize, imageSize, inChannels] float32. */
  checkImages(images: unknown, argument = 'images'): tf.Tensor4D {
    const t = assertRank(images, 4, argument) as tf.Tensor4D;
    const { imageSize, inChannels } = this.config;
    const [, h, w, ch] = t.shape;
    if (ch !== inChannels) {
      throw invalid(
        'SHAPE_MISMATCH',
        argument,
        `${inChannels} channels (NHWC [B, ${imageSize}, ${imageSize}, ${inChannels}])`,
        `shape ${formatShape(t.shape)}`,
      );
    }
    if (h !== imageSize || w !== imageSize) {
      throw invalid(
        'SHAPE_MISMATCH',
        argument,
        `${imageSize}×${imageSize} images (NHWC [B, ${imageSize}, ${imageSize}, ${inChannels}])`,
        `shape ${formatShape(t.shape)}`,
      );
    }
    if (t.dtype !== 'float32') throw invalid('INVALID_DTYPE', argument, 'float32', t.dtype);
    return t;
  }

  /**
   * The forward pass. Everything returned is new and owned by the caller (dispose it, or call inside tf.tidy /
   * an optimizer's minimize).
   */
  forward(images: tf.Tensor4D, options: ForwardOptions = {}): ViTOutput {
    checkOptions<ForwardOptions>(options, { training: true, rng: true, collect: true, returnAttention: true });
    const x0 = this.checkImages(images);
    if (options.collect !== undefined && !Array.isArray(options.collect)) {
      throw invalid('INVALID_ARGUMENT', 'options.collect', 'an array of block indices', typeof options.collect);
    }
    const collect = new Set(options.collect ?? []);
    for (const k of collect) {
      if (!Number.isInteger(k) || k < 0 || k >= this.blocks.length) {
        throw invalid('OUT_OF_RANGE', 'options.collect', `block indices in [0, ${this.blocks.length})`, String(k));
      }
    }
    const result = tf.tidy(() => {
      const b = x0.shape[0];
      const patches = this.patchEmbed.apply(x0);
      const prefix = [tf.tile(this.clsToken, [b, 1, 1])];
      if (this.distToken) prefix.push(tf.tile(this.distToken, [b, 1, 1]));
      let x = tf.add(tf.concat([...prefix, patches], 1), this.posEmbed) as tf.Tensor3D;
      const blocks: Record<number, tf.Tensor3D> = {};
      const attentions: tf.Tensor4D[] = [];
      this.blocks.forEach((block, i) => {
        const { out, attn } = block.apply(x, {
          training: options.training,
          rng: options.rng ?? this.rng,
          returnAttention: options.returnAttention ?? false,
        });
        x = out;
        if (collect.has(i)) blocks[i] = out;
        if (attn) attentions.push(attn);
      });
      const tokens = layerNorm(x, this.norm.gamma, this.norm.beta, this.config.eps) as tf.Tensor3D;
      const D = this.config.embedDim;
      const out: ViTOutput = { tokens, blocks, logits: undefined as unknown as tf.Tensor2D };
      if (this.head) {
        const cls = tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, D]), [b, D]);
        const clsLogits = linear(cls, this.head.weight, this.head.bias) as tf.Tensor2D;
        if (this.headDist) {
          const dist = tf.reshape(tf.slice(tokens, [0, 1, 0], [b, 1, D]), [b, D]);
          const distLogits = linear(dist, this.headDist.weight, this.headDist.bias) as tf.Tensor2D;
          out.clsLogits = clsLogits;
          out.distLogits = distLogits;
          out.logits = tf.div(tf.add(clsLogits, distLogits), 2) as tf.Tensor2D;
        } else {
          out.logits = clsLogits;
        }
      } else {
        out.logits = tf.zeros([b, 0]) as tf.Tensor2D;
      }
      if (options.returnAttention) out.attentions = attentions;
      return out as unknown as tf.TensorContainer;
    }) as unknown as ViTOutput;
    return result;
  }

  /** Throws naming `tokens` unless they are [B, N, embedDim] with N above the prefix tokens. */
  private checkTokens(tokens: unknown): void {
    const t = assertRank(tokens, 3, 'tokens');
    const D = this.config.embedDim;
    if (t.shape[2] !== D || (t.shape[1] as number) <= this.numPrefixTokens) {
      throw invalid(
        'SHAPE_MISMATCH',
        'tokens',
        `[B, N > ${this.numPrefixTokens}, ${D}] (the model's token width embedDim)`,
        `shape ${formatShape(t.shape)}`,
      );
    }
  }

  /** Class token [B, D] of a token tensor (e.g. `out.blocks[k]`, USKD's feature after block k). */
  classToken(tokens: tf.Tensor3D): tf.Tensor2D {
    this.checkTokens(tokens);
    const [b, , d] = tokens.shape;
    return tf.tidy(() => tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, d]), [b, d]));
  }

  /** Patch tokens [B, numPatches, D] of a token tensor (prefix tokens dropped; TRG's patch features). */
  patchTokens(tokens: tf.Tensor3D): tf.Tensor3D {
    this.checkTokens(tokens);
    const [b, n, d] = tokens.shape;
    return tf.slice(tokens, [0, this.numPrefixTokens, 0], [b, n - this.numPrefixTokens, d]);
  }
}
