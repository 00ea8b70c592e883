import { assertRank, checkNumber, createRng, formatShape, invalid, type Rng, tf } from '@distillery/tensor';
import { addLayerNorm, addLinear, dropPath, init, layerNorm, linear } from '../core/layers';
import { Module, type ParamStore } from '../core/module';
import { Mlp, mergeHeads, splitHeads } from '../vit/blocks';

/**
 * LaViT — "You Only Need Less Attention at Each Stage in Vision Transformers" (Zhang, Liu, Lin, He; CVPR 2024,
 * arXiv 2406.00427). There is no official code; every choice below follows the paper's description as summarised in
 * the reference card (vit.md §2, marked UNVERIFIED there) and is documented where the paper leaves room:
 *
 * - Hierarchical stages. Stage 0 embeds p×p patches with a conv; each later stage halves the token grid with a
 *   2×2 stride-2 conv + LayerNorm ("downsample"). A learned position embedding is added at stage 0 only. No class
 *   token: the head reads LN → mean over tokens → Linear. Pre-norm blocks, LayerNorm eps 1e-6, exact GELU MLP.
 * - Vanilla-Attention (VA) layers, the first `vaDepths[s]` blocks of a stage: A = softmax(QKᵀ/√d) per head, Z = A·V.
 * - Less-Attention (LA) layers, the remaining `laDepths[s]` blocks: A^l = Ψ(Θ(A^{l−1})ᵀ)ᵀ = Ψᵀ·A^{l−1}·Θ with Θ, Ψ
 *   learnable N×N matrices (no bias, shared by the heads, one pair per layer); V^l is still projected from the
 *   current tokens (Q, K are not computed); Z^l = softmax(A^l)·V^l (the paper's Z_LA = Softmax(A^l)V^l;
 *   `laSoftmax: false` gives the card's Z = A^l·V^l). The chain starts from the last VA map of the stage and passes
 *   on the transformed (pre-softmax) A^l.
 * - Residual attention downsampling: the first VA layer of stage s > 0 adds γ ⊙ DWConv(A_last^{s−1}) to its
 *   softmax map, where DWConv is a per-head (depth-wise) conv with kernel = stride = N_{s−1}/N_s over the previous
 *   stage's last N_{s−1}×N_{s−1} map (for LA stages, softmax(A^l)), and γ a per-head LayerScale (init
 *   `layerScaleInit`, 1e-5).
 * - The Diagonality Preserving loss is `diagonalityPreservingLoss`, applied to the LA maps returned in `laMaps`.
 * Parameter names are this package's own (`stages.<s>.blocks.<i>.attn.theta.weight`, …).
 */

export interface LaViTConfig {
  imageSize: number;
  patchSize: number;
  inChannels?: number;
  numClasses?: number;
  /** Embedding width per stage. */
  dims: number[];
  heads: number[];
  /** VA layers per stage (≥ 1: the LA chain starts from a VA map). */
  vaDepths: number[];
  /** LA layers per stage. */
  laDepths: number[];
  mlpRatio?: number;
  /** softmax(A^l)·V in LA layers (default true, the paper); false gives A^l·V. */
  laSoftmax?: boolean;
  /** Init of the per-head LayerScale on the residual attention downsampling. */
  layerScaleInit?: number;
  dropPathRate?: number;
  eps?: number;
  seed?: number | string;
}

type Lin = { weight: tf.Variable; bias?: tf.Variable };
type Norm = { gamma: tf.Variable; beta: tf.Variable };

interface StageState {
  /** The map passed along the LA chain (VA: softmax map; LA: transformed pre-softmax A^l). */
  chain?: tf.Tensor4D;
  /** The stage's last attention as a probability map, for the next stage's residual downsampling. */
  last?: tf.Tensor4D;
}

class LaViTBlock {
  readonly norm1: Norm;
  readonly norm2: Norm;
  readonly qkv?: Lin;
  readonly v?: Lin;
  readonly theta?: tf.Variable;
  readonly psi?: tf.Variable;
  readonly proj: Lin;
  readonly mlp: Mlp;
  readonly scale: number;
  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly heads: number,
    readonly tokens: number,
    readonly kind: 'va' | 'la',
    mlpRatio: number,
    readonly dropPathRate: number,
    readonly eps: number,
    readonly laSoftmax: boolean,
    rng: Rng,
  ) {
    this.scale = (dim / heads) ** -0.5;
    this.norm1 = addLayerNorm(store, `${name}.norm1`, dim);
    if (kind === 'va') {
      this.qkv = addLinear(store, `${name}.attn.qkv`, dim, 3 * dim, rng);
    } else {
      this.v = addLinear(store, `${name}.attn.v`, dim, dim, rng);
      // Θ and Ψ start near the identity so the first LA map is close to the VA map it transforms.
      const eye = () => tf.tidy(() => tf.add(tf.eye(tokens), init.truncNormal([tokens, tokens], rng)));
      this.theta = store.add(`${name}.attn.theta.weight`, eye(), 'linear');
      this.psi = store.add(`${name}.attn.psi.weight`, eye(), 'linear');
    }
    this.proj = addLinear(store, `${name}.attn.proj`, dim, dim, rng);
    this.norm2 = addLayerNorm(store, `${name}.norm2`, dim);
    this.mlp = new Mlp(store, `${name}.mlp`, dim, Math.floor(dim * mlpRatio), rng);
  }

  /**
   * Returns the new tokens and the maps: `chain` (what the next LA layer transforms), `prob` (the attention
   * probabilities used, [B, H, N, N]) and, for LA layers, `transformed` (softmax(A^l), for the DP loss).
   */
  apply(
    x: tf.Tensor3D,
    state: StageState,
    residual: tf.Tensor4D | undefined,
    training: boolean,
    rng: Rng | undefined,
  ): { out: tf.Tensor3D; chain: tf.Tensor4D; prob: tf.Tensor4D; transformed?: tf.Tensor4D } {
    const h = layerNorm(x, this.norm1.gamma, this.norm1.beta, this.eps);
    let prob: tf.Tensor4D;
    let chain: tf.Tensor4D;
    let v: tf.Tensor4D;
    let transformed: tf.Tensor4D | undefined;
    if (this.kind === 'va') {
      const [q, k, vv] = tf.split(linear(h, this.qkv!.weight, this.qkv!.bias), 3, -1) as tf.Tensor[];
      const logits = tf.matMul(tf.mul(splitHeads(q!, this.heads), this.scale), splitHeads(k!, this.heads), false, true);
      prob = tf.softmax(logits) as tf.Tensor4D;
      if (residual) prob = tf.add(prob, residual) as tf.Tensor4D;
      chain = prob;
      v = splitHeads(vv!, this.heads);
    } else {
      if (!state.chain) throw invalid('INVALID_ARGUMENT', 'config.vaDepths', '>= 1 VA layer per stage', '0');
      // A^l = Ψ(Θ(A^{l−1})ᵀ)ᵀ: Θ acts on the last axis, Ψ on the other one.
      // (Applied as linear maps over flattened rows: tfjs' BatchMatMul gradient does not reduce a broadcast rank-2
      // operand, so a [B,H,N,N]·[N,N] matMul cannot be differentiated w.r.t. the [N,N] side.)
      const thetaA = linear(state.chain, this.theta!);
      const a = tf.transpose(linear(tf.transpose(thetaA, [0, 1, 3, 2]), this.psi!), [0, 1, 3, 2]) as tf.Tensor4D;
      chain = a;
      transformed = tf.softmax(a) as tf.Tensor4D;
      prob = this.laSoftmax ? transformed : a;
      v = splitHeads(linear(h, this.v!.weight, this.v!.bias), this.heads);
    }
    const z = linear(mergeHeads(tf.matMul(prob, v)), this.proj.weight, this.proj.bias);
    const x1 = tf.add(x, dropPath(z, this.dropPathRate, training, rng));
    const m = this.mlp.apply(layerNorm(x1, this.norm2.gamma, this.norm2.beta, this.eps));
    const out = tf.add(x1, dropPath(m, this.dropPathRate, training, rng)) as tf.Tensor3D;
    return { out, chain, prob: transformed ?? prob, transformed };
  }
}

export interface LaViTOutput {
  logits: tf.Tensor2D;
  /** Pooled, normed features [B, D_last]. */
  features: tf.Tensor2D;
  /** softmax(A^l) of every LA layer, [B, H, N, N] (inputs of the Diagonality Preserving loss). */
  laMaps: tf.Tensor4D[];
  /** Every layer's attention probabilities (with `returnAttention`). */
  attentions?: tf.Tensor4D[];
}

export class LaViT extends Module {
  readonly config: Required<Omit<LaViTConfig, 'seed'>>;
  /** Tokens per stage (N_s), fixed by the input size. */
  readonly tokens: number[];
  readonly grids: number[];
  private readonly patch: { weight: tf.Variable; bias: tf.Variable };
  private readonly posEmbed: tf.Variable;
  private readonly downsample: { weight: tf.Variable; bias: tf.Variable; norm: Norm }[] = [];
  private readonly attnDown: { weight: tf.Variable; bias: tf.Variable; gamma: tf.Variable; kernel: number }[] = [];
  private readonly stages: LaViTBlock[][] = [];
  private readonly norm: Norm;
  private readonly head?: Lin;
  private readonly rng: Rng;

  constructor(config: LaViTConfig) {
    super();
    const c = {
      inChannels: 3,
      numClasses: 1000,
      mlpRatio: 4,
      laSoftmax: true,
      layerScaleInit: 1e-5,
      dropPathRate: 0,
      eps: 1e-6,
      ...config,
    };
    checkNumber(c.imageSize, 'config.imageSize', { min: 1, integer: true });
    checkNumber(c.patchSize, 'config.patchSize', { min: 1, integer: true });
    const S = c.dims.length;
    for (const key of ['heads', 'vaDepths', 'laDepths'] as const) {
      if (!Array.isArray(c[key]) || c[key].length !== S) {
        throw invalid('INVALID_ARGUMENT', `config.${key}`, `${S} entries (one per stage)`, String(c[key]));
      }
    }
    for (let s = 0; s < S; s++) {
      checkNumber(c.vaDepths[s], `config.vaDepths[${s}]`, { min: 1, integer: true });
      checkNumber(c.laDepths[s], `config.laDepths[${s}]`, { min: 0, integer: true });
      if (c.dims[s]! % c.heads[s]! !== 0) {
        throw invalid(
          'INVALID_ARGUMENT',
          `config.heads[${s}]`,
          `a divisor of dims[${s}] = ${c.dims[s]}`,
          String(c.heads[s]),
        );
      }
      if (s > 0 && c.heads[s] !== c.heads[s - 1]) {
        throw invalid(
          'INVALID_ARGUMENT',
          `config.heads[${s}]`,
          `${c.heads[s - 1]} (the residual attention downsampling maps heads one to one)`,
          String(c.heads[s]),
        );
      }
    }
    if (c.imageSize % c.patchSize !== 0) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config.patchSize',
        `a divisor of imageSize ${c.imageSize}`,
        String(c.patchSize),
      );
    }
    const g0 = c.imageSize / c.patchSize;
    if (g0 % 2 ** (S - 1) !== 0) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config.imageSize',
        `a token grid (${g0}×${g0}) divisible by 2^${S - 1} so every stage's ${S - 1} halvings fit`,
        String(c.imageSize),
      );
    }
    const { seed, ...rest } = c;
    this.config = rest;
    const rng = createRng(seed ?? 0);
    this.rng = rng.fork();
    this.grids = Array.from({ length: S }, (_, s) => g0 / 2 ** s);
    this.tokens = this.grids.map((g) => g * g);
    const st = this.params;
    const fan = c.inChannels * c.patchSize * c.patchSize;
    this.patch = {
      weight: st.add(
        'patch_embed.proj.weight',
        init.torchDefault([c.patchSize, c.patchSize, c.inChannels, c.dims[0]!], rng, fan),
        'conv2d',
      ),
      bias: st.add('patch_embed.proj.bias', init.torchDefault([c.dims[0]!], rng, fan)),
    };
    this.posEmbed = st.add('pos_embed', init.truncNormal([1, this.tokens[0]!, c.dims[0]!], rng));
    const total = c.vaDepths.reduce((a, d) => a + d, 0) + c.laDepths.reduce((a, d) => a + d, 0);
    let blockIndex = 0;
    for (let s = 0; s < S; s++) {
      if (s > 0) {
        const f = c.dims[s - 1]! * 4;
        this.downsample.push({
          weight: st.add(
            `stages.${s}.downsample.proj.weight`,
            init.torchDefault([2, 2, c.dims[s - 1]!, c.dims[s]!], rng, f),
            'conv2d',
          ),
          bias: st.add(`stages.${s}.downsample.proj.bias`, init.torchDefault([c.dims[s]!], rng, f)),
          norm: addLayerNorm(st, `stages.${s}.downsample.norm`, c.dims[s]!),
        });
        const k = this.tokens[s - 1]! / this.tokens[s]!;
        this.attnDown.push({
          weight: st.add(
            `stages.${s}.attn_downsample.weight`,
            init.torchDefault([k, k, c.heads[s]!, 1], rng, k * k),
            'depthwise',
          ),
          bias: st.add(`stages.${s}.attn_downsample.bias`, init.torchDefault([c.heads[s]!], rng, k * k)),
          gamma: st.add(`stages.${s}.attn_downsample.gamma`, init.fill([c.heads[s]!], c.layerScaleInit)),
          kernel: k,
        });
      }
      const blocks: LaViTBlock[] = [];
      const n = c.vaDepths[s]! + c.laDepths[s]!;
      for (let i = 0; i < n; i++) {
        const rate = total > 1 ? (c.dropPathRate * blockIndex) / (total - 1) : 0;
        blockIndex++;
        blocks.push(
          new LaViTBlock(
            st,
            `stages.${s}.blocks.${i}`,
            c.dims[s]!,
            c.heads[s]!,
            this.tokens[s]!,
            i < c.vaDepths[s]! ? 'va' : 'la',
            c.mlpRatio,
            rate,
            c.eps,
            c.laSoftmax,
            rng,
          ),
        );
      }
      this.stages.push(blocks);
    }
    this.norm = addLayerNorm(st, 'norm', c.dims[S - 1]!);
    if (c.numClasses > 0) this.head = addLinear(st, 'head', c.dims[S - 1]!, c.numClasses, rng);
  }

  forward(
    images: tf.Tensor4D,
    options: { training?: boolean; rng?: Rng; returnAttention?: boolean } = {},
  ): LaViTOutput {
    const x0 = assertRank(images, 4, 'images') as tf.Tensor4D;
    const { imageSize, inChannels, patchSize } = this.config;
    if (x0.shape[3] !== inChannels) {
      throw invalid('SHAPE_MISMATCH', 'images', `${inChannels} channels`, `shape ${formatShape(x0.shape)}`);
    }
    if (x0.shape[1] !== imageSize || x0.shape[2] !== imageSize) {
      const got = x0.shape[1] % patchSize === 0 && x0.shape[2] % patchSize === 0;
      const tokens = got ? `${(x0.shape[1] / patchSize) * (x0.shape[2] / patchSize)} tokens` : 'a partial patch grid';
      throw invalid(
        'SHAPE_MISMATCH',
        'images',
        `${imageSize}×${imageSize} images: stage 0 has N = ${this.tokens[0]} tokens (Θ, Ψ are N×N)`,
        `shape ${formatShape(x0.shape)} (${tokens})`,
      );
    }
    const training = options.training ?? false;
    const rng = options.rng ?? this.rng;
    return tf.tidy(() => {
      const b = x0.shape[0];
      const c = this.config;
      let grid = tf.add(
        tf.conv2d(x0, this.patch.weight as unknown as tf.Tensor4D, patchSize, 'valid'),
        this.patch.bias,
      ) as tf.Tensor4D;
      let x = tf.add(tf.reshape(grid, [b, this.tokens[0]!, c.dims[0]!]), this.posEmbed) as tf.Tensor3D;
      const laMaps: tf.Tensor4D[] = [];
      const attentions: tf.Tensor4D[] = [];
      let previousLast: tf.Tensor4D | undefined;
      for (let s = 0; s < this.stages.length; s++) {
        let residual: tf.Tensor4D | undefined;
        if (s > 0) {
          const g = this.grids[s - 1]!;
          const d = this.downsample[s - 1]!;
          grid = tf.reshape(x, [b, g, g, c.dims[s - 1]!]) as tf.Tensor4D;
          const y = tf.add(tf.conv2d(grid, d.weight as unknown as tf.Tensor4D, 2, 'valid'), d.bias);
          x = layerNorm(
            tf.reshape(y, [b, this.tokens[s]!, c.dims[s]!]),
            d.norm.gamma,
            d.norm.beta,
            c.eps,
          ) as tf.Tensor3D;
          // Residual attention downsampling: [B, H, N', N'] → NHWC [B, N', N', H] → depthwise conv (k = stride).
          const a = this.attnDown[s - 1]!;
          const map = tf.transpose(previousLast!, [0, 2, 3, 1]) as tf.Tensor4D;
          const conv = tf.add(tf.depthwiseConv2d(map, a.weight as unknown as tf.Tensor4D, a.kernel, 'valid'), a.bias);
          residual = tf.transpose(tf.mul(conv, a.gamma), [0, 3, 1, 2]) as tf.Tensor4D;
        }
        const state: StageState = {};
        this.stages[s]!.forEach((block, i) => {
          const r = block.apply(x, state, i === 0 ? residual : undefined, training, rng);
          x = r.out;
          state.chain = r.chain;
          state.last = r.prob;
          if (r.transformed) laMaps.push(r.transformed);
          if (options.returnAttention) attentions.push(r.prob);
        });
        previousLast = state.last;
      }
      const features = tf.mean(layerNorm(x, this.norm.gamma, this.norm.beta, c.eps), 1) as tf.Tensor2D;
      const logits = this.head
        ? (linear(features, this.head.weight, this.head.bias) as tf.Tensor2D)
        : (tf.zeros([b, 0]) as tf.Tensor2D);
      const out: Record<string, tf.Tensor | tf.Tensor[]> = { logits, features, laMaps };
      if (options.returnAttention) out.attentions = attentions;
      return out as unknown as tf.TensorContainer;
    }) as unknown as LaViTOutput;
  }
}

export interface DiagonalityLossOptions {
  /**
   * Sign of the diagonal term. +1 (default) is the formula as written,
   * Σ_i ((N−1)·A_ii − Σ_{j≠i} A_ij); minimising it lowers the diagonal. −1 rewards diagonal dominance instead. The
   * card marks this sign as uncertain; on row-stochastic maps both are bounded.
   */
  diagonalSign?: 1 | -1;
}

/**
 * LaViT's Diagonality Preserving loss for one or more maps A [B, H, N, N] (use `out.laMaps`, the row-stochastic
 * softmax(A^l) of the LA layers):
 *
 *     L_DP(A) = Σ_ij |A_ij − A_ji| + s · Σ_i ((N−1)·A_ii − Σ_{j≠i} A_ij)
 *
 * summed over i, j, averaged over batch and heads, and summed over the maps (the total objective is
 * L_CE + Σ_l L_DP^l).
 */
export function diagonalityPreservingLoss(
  maps: tf.Tensor | tf.Tensor[],
  options: DiagonalityLossOptions = {},
): tf.Scalar {
  const list = Array.isArray(maps) ? maps : [maps];
  const sign = options.diagonalSign ?? 1;
  if (sign !== 1 && sign !== -1) throw invalid('INVALID_ARGUMENT', 'options.diagonalSign', '1 or -1', String(sign));
  if (list.length === 0) throw invalid('EMPTY_INPUT', 'maps', 'at least one attention map', 'an empty list');
  list.forEach((m, i) => {
    const t = assertRank(m, 4, `maps[${i}]`);
    if (t.shape[2] !== t.shape[3]) {
      throw invalid('SHAPE_MISMATCH', `maps[${i}]`, 'square maps [B, H, N, N]', `shape ${formatShape(t.shape)}`);
    }
  });
  return tf.tidy(() => {
    const terms = list.map((a) => {
      const [b, h, n] = a.shape as [number, number, number, number];
      const symmetry = tf.sum(tf.abs(tf.sub(a, tf.transpose(a, [0, 1, 3, 2]))), [2, 3]);
      const eye = tf.eye(n);
      const diag = tf.sum(tf.mul(a, eye), [2, 3]);
      const offDiag = tf.sub(tf.sum(a, [2, 3]), diag);
      const dominance = tf.sub(tf.mul(diag, n - 1), offDiag);
      return tf.div(tf.sum(tf.add(symmetry, tf.mul(dominance, sign))), b * h);
    });
    return tf.addN(terms) as tf.Scalar;
  });
}
