import {
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  describeValue,
  formatShape,
  invalid,
  type Rng,
  tf,
} from '@distillery/tensor';
import { addLayerNorm, addLinear, dropPath, init, layerNorm, linear } from '../core/layers';
import { Module, type ParamStore } from '../core/module';
import { Mlp, mergeHeads, splitHeads } from '../vit/blocks';

/**
 * LaViT — "You Only Need Less Attention at Each Stage in Vision Transformers" (Zhang, Liu, Lin, He; CVPR 2024,
 * arXiv 2406.00427, §3). There is no official code. The components follow the paper's method section (§3: Vanilla
 * Attention, Less-Attention, Residual-based Attention Downsampling, Diagonality Preserving Loss); where the paper
 * leaves a choice open, the choice made here is stated:
 *
 * - Hierarchical stages (§3, as in the paper's hierarchical models). Stage 0 embeds p×p patches with a conv; each
 *   later stage merges 2×2 windows of the token grid with a 2×2 stride-2 conv + LayerNorm ("downsample"). A learned
 *   position embedding is added at stage 0 only. No class token: the head reads LN → mean over tokens → Linear.
 *   Pre-norm blocks, LayerNorm eps 1e-6, exact GELU MLP. Width and heads may differ per stage (`dims`, `heads`).
 * - Vanilla-Attention (VA) layers, the first `vaDepths[s]` blocks of a stage: A = softmax(QKᵀ/√d) per head, Z = A·V.
 * - Less-Attention (LA) layers, the remaining `laDepths[s]` blocks (§3, "Less-Attention"): A^l = Ψ(Θ(A^{l−1})ᵀ)ᵀ =
 *   Ψᵀ·A^{l−1}·Θ with Θ, Ψ learnable N×N matrices (no bias, shared by the heads, one pair per layer); V^l is still
 *   projected from the current tokens (Q, K are not computed); Z^l = softmax(A^l)·V^l. `laSoftmax: false` attends
 *   with A^l itself (Z^l = A^l·V^l, an ablation). The chain starts from the last VA map of the stage (our choice: the
 *   softmax map, plus the residual of the next point at a stage's first layer) and passes on the transformed A^l.
 * - Residual-based attention downsampling (§3): the first VA layer of stage s > 0 adds γ ⊙ Conv(A_last^{s−1}) to
 *   its softmax map, where A_last^{s−1} is the map the last layer of stage s−1 attended with (softmax(A^l), or A^l
 *   with `laSoftmax: false`) and γ a per-head LayerScale (init `layerScaleInit`, 1e-5). The conv pools the
 *   N_{s−1}×N_{s−1} map over exactly the tokens the patch merging combines: new token i′ is made of the 2×2 window
 *   W(i′) of old tokens, so entry (i′, j′) of the pooled map is Σ_{a ∈ W(i′), b ∈ W(j′)} w[a, b]·A[a, b] + bias,
 *   on both axes (queries and keys). It is implemented as a kernel = stride = 4 conv over the map with its rows and
 *   columns reordered window by window (old token (r, c) of a g×g grid goes to position 4·((r÷2)·g/2 + c÷2) +
 *   2·(r mod 2) + (c mod 2)); the 4×4 kernel's entry [a, b] weighs query sub-position a against key sub-position b.
 *   Per head (depth-wise) when the two stages have the same number of heads; otherwise a dense conv from the
 *   H_{s−1} heads to the H_s heads (our choice, as the paper's hierarchical models change the head count).
 * - The Diagonality Preserving loss is `diagonalityPreservingLoss` (§3, "Diagonality Preserving Loss"), applied to
 *   the LA maps returned in `laMaps`.
 * Parameter names are this package's own (`stages.<s>.blocks.<i>.attn.theta.weight`, …).
 */

export interface LaViTConfig {
  imageSize: number;
  patchSize: number;
  inChannels?: number;
  numClasses?: number;
  /** Embedding width per stage. */
  dims: number[];
  /** Attention heads per stage (may differ between stages; each must divide that stage's width). */
  heads: number[];
  /** VA layers per stage (≥ 1: the LA chain starts from a VA map). */
  vaDepths: number[];
  /** LA layers per stage. */
  laDepths: number[];
  mlpRatio?: number;
  /** softmax(A^l)·V in LA layers (default true, the paper); false attends with A^l itself (A^l·V). */
  laSoftmax?: boolean;
  /** Init of the per-head LayerScale on the residual attention downsampling. */
  layerScaleInit?: number;
  dropPathRate?: number;
  eps?: number;
  seed?: number | string;
}

export interface LaViTForwardOptions {
  training?: boolean;
  /** Random source of stochastic depth while training (default: the model's own). */
  rng?: Rng;
  /** Return every layer's attention map in `attentions`. */
  returnAttention?: boolean;
}

const CONFIG_SPEC = {
  imageSize: true,
  patchSize: true,
  inChannels: true,
  numClasses: true,
  dims: true,
  heads: true,
  vaDepths: true,
  laDepths: true,
  mlpRatio: true,
  laSoftmax: true,
  layerScaleInit: true,
  dropPathRate: true,
  eps: true,
  seed: true,
} as const;

type Lin = { weight: tf.Variable; bias?: tf.Variable };
type Norm = { gamma: tf.Variable; beta: tf.Variable };

interface StageState {
  /** The map passed along the LA chain (VA: softmax map + residual; LA: the transformed A^l). */
  chain?: tf.Tensor4D;
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
   * Returns the new tokens and the maps: `chain` (what the next LA layer transforms) and `used` (the map this layer
   * attends with, [B, H, N, N]: softmax(QKᵀ/√d) (+ residual) for VA; softmax(A^l), or A^l with `laSoftmax: false`,
   * for LA).
   */
  apply(
    x: tf.Tensor3D,
    state: StageState,
    residual: tf.Tensor4D | undefined,
    training: boolean,
    rng: Rng | undefined,
  ): { out: tf.Tensor3D; chain: tf.Tensor4D; used: tf.Tensor4D } {
    const h = layerNorm(x, this.norm1.gamma, this.norm1.beta, this.eps);
    let used: tf.Tensor4D;
    let chain: tf.Tensor4D;
    let v: tf.Tensor4D;
    if (this.kind === 'va') {
      const [q, k, vv] = tf.split(linear(h, this.qkv!.weight, this.qkv!.bias), 3, -1) as tf.Tensor[];
      const logits = tf.matMul(tf.mul(splitHeads(q!, this.heads), this.scale), splitHeads(k!, this.heads), false, true);
      used = tf.softmax(logits) as tf.Tensor4D;
      if (residual) used = tf.add(used, residual) as tf.Tensor4D;
      chain = used;
      v = splitHeads(vv!, this.heads);
    } else {
      if (!state.chain) throw invalid('INVALID_ARGUMENT', 'config.vaDepths', '>= 1 VA layer per stage', '0');
      // A^l = Ψ(Θ(A^{l−1})ᵀ)ᵀ: Θ acts on the last axis, Ψ on the other one.
      // (Applied as linear maps over flattened rows: tfjs' BatchMatMul gradient does not reduce a broadcast rank-2
      // operand, so a [B,H,N,N]·[N,N] matMul cannot be differentiated w.r.t. the [N,N] side.)
      const thetaA = linear(state.chain, this.theta!);
      const a = tf.transpose(linear(tf.transpose(thetaA, [0, 1, 3, 2]), this.psi!), [0, 1, 3, 2]) as tf.Tensor4D;
      chain = a;
      used = this.laSoftmax ? (tf.softmax(a) as tf.Tensor4D) : a;
      v = splitHeads(linear(h, this.v!.weight, this.v!.bias), this.heads);
    }
    const z = linear(mergeHeads(tf.matMul(used, v)), this.proj.weight, this.proj.bias);
    const x1 = tf.add(x, dropPath(z, this.dropPathRate, training, rng));
    const m = this.mlp.apply(layerNorm(x1, this.norm2.gamma, this.norm2.beta, this.eps));
    const out = tf.add(x1, dropPath(m, this.dropPathRate, training, rng)) as tf.Tensor3D;
    return { out, chain, used };
  }
}

/**
 * The order that puts every 2×2 window of a g×g raster grid together: position 4·w + 2·(r mod 2) + (c mod 2) holds
 * old token r·g + c, where w = (r÷2)·(g/2) + c÷2 is the new token the patch merging builds from that window.
 */
function windowOrder(g: number): number[] {
  const order = new Array<number>(g * g);
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      const w = Math.floor(r / 2) * (g / 2) + Math.floor(c / 2);
      order[4 * w + 2 * (r % 2) + (c % 2)] = r * g + c;
    }
  }
  return order;
}

export interface LaViTOutput {
  logits: tf.Tensor2D;
  /** Pooled, normed features [B, D_last]. */
  features: tf.Tensor2D;
  /**
   * The map each LA layer attends with, [B, H, N, N]: softmax(A^l) (row-stochastic), or A^l itself with
   * `laSoftmax: false`. The inputs of the Diagonality Preserving loss.
   */
  laMaps: tf.Tensor4D[];
  /** Every layer's attention map as used (with `returnAttention`). */
  attentions?: tf.Tensor4D[];
}

type ArrayKey = 'dims' | 'heads' | 'vaDepths' | 'laDepths';

function checkStageArray(value: unknown, key: ArrayKey, stages: number | undefined, min: number): number[] {
  const one = stages === undefined ? 'at least one entry' : `${stages} ${stages === 1 ? 'entry' : 'entries'}`;
  const expected =
    stages === undefined ? `an array of ${one} (one per stage)` : `an array of ${one} (one per stage, as in dims)`;
  if (!Array.isArray(value) || value.length === 0 || (stages !== undefined && value.length !== stages)) {
    const actual = Array.isArray(value)
      ? `an array of ${value.length} ${value.length === 1 ? 'entry' : 'entries'} (${JSON.stringify(value)})`
      : describeValue(value);
    throw invalid('INVALID_ARGUMENT', `config.${key}`, expected, actual);
  }
  for (const [s, v] of value.entries()) checkNumber(v, `config.${key}[${s}]`, { min, integer: true });
  return value as number[];
}

export class LaViT extends Module {
  readonly config: Required<Omit<LaViTConfig, 'seed'>>;
  /** Tokens per stage (N_s), fixed by the input size. */
  readonly tokens: number[];
  readonly grids: number[];
  private readonly patch: { weight: tf.Variable; bias: tf.Variable };
  private readonly posEmbed: tf.Variable;
  private readonly downsample: { weight: tf.Variable; bias: tf.Variable; norm: Norm }[] = [];
  private readonly attnDown: {
    weight: tf.Variable;
    bias: tf.Variable;
    gamma: tf.Variable;
    depthwise: boolean;
    order: number[];
  }[] = [];
  private readonly stages: LaViTBlock[][] = [];
  private readonly norm: Norm;
  private readonly head?: Lin;
  private readonly rng: Rng;

  constructor(config: LaViTConfig) {
    super();
    if (config === undefined) {
      throw invalid('INVALID_ARGUMENT', 'config', 'a LaViT config object', 'undefined');
    }
    const given = checkOptions<LaViTConfig>(config, CONFIG_SPEC, 'config');
    const c = {
      inChannels: 3,
      numClasses: 1000,
      mlpRatio: 4,
      laSoftmax: true,
      layerScaleInit: 1e-5,
      dropPathRate: 0,
      eps: 1e-6,
      ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    } as LaViTConfig & Required<Omit<LaViTConfig, 'seed'>>;
    checkNumber(c.imageSize, 'config.imageSize', { min: 1, integer: true });
    checkNumber(c.patchSize, 'config.patchSize', { min: 1, integer: true });
    checkNumber(c.inChannels, 'config.inChannels', { min: 1, integer: true });
    checkNumber(c.numClasses, 'config.numClasses', { min: 0, integer: true });
    checkNumber(c.mlpRatio, 'config.mlpRatio', { min: 0, minExclusive: true });
    checkNumber(c.layerScaleInit, 'config.layerScaleInit');
    checkNumber(c.dropPathRate, 'config.dropPathRate', { min: 0, max: 1 });
    if (c.dropPathRate >= 1)
      throw invalid('OUT_OF_RANGE', 'config.dropPathRate', 'a number < 1', String(c.dropPathRate));
    checkNumber(c.eps, 'config.eps', { min: 0, minExclusive: true });
    if (typeof c.laSoftmax !== 'boolean') {
      throw invalid('INVALID_ARGUMENT', 'config.laSoftmax', 'a boolean', describeValue(c.laSoftmax));
    }
    if (c.seed !== undefined && typeof c.seed !== 'string') checkNumber(c.seed, 'config.seed');
    const S = checkStageArray(c.dims, 'dims', undefined, 1).length;
    checkStageArray(c.heads, 'heads', S, 1);
    checkStageArray(c.vaDepths, 'vaDepths', S, 1);
    checkStageArray(c.laDepths, 'laDepths', S, 0);
    for (let s = 0; s < S; s++) {
      if (c.dims[s]! % c.heads[s]! !== 0) {
        throw invalid(
          'INVALID_ARGUMENT',
          `config.heads[${s}]`,
          `a divisor of dims[${s}] = ${c.dims[s]}`,
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
    this.config = {
      ...rest,
      dims: [...c.dims],
      heads: [...c.heads],
      vaDepths: [...c.vaDepths],
      laDepths: [...c.laDepths],
    };
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
        // Kernel = stride = 4 over the window-ordered map: 4 query × 4 key sub-positions of one 2×2 window pair.
        const hIn = c.heads[s - 1]!;
        const hOut = c.heads[s]!;
        const depthwise = hIn === hOut;
        const fanIn = depthwise ? 16 : 16 * hIn;
        this.attnDown.push({
          weight: depthwise
            ? st.add(`stages.${s}.attn_downsample.weight`, init.torchDefault([4, 4, hOut, 1], rng, fanIn), 'depthwise')
            : st.add(`stages.${s}.attn_downsample.weight`, init.torchDefault([4, 4, hIn, hOut], rng, fanIn), 'conv2d'),
          bias: st.add(`stages.${s}.attn_downsample.bias`, init.torchDefault([hOut], rng, fanIn)),
          gamma: st.add(`stages.${s}.attn_downsample.gamma`, init.fill([hOut], c.layerScaleInit)),
          depthwise,
          order: windowOrder(this.grids[s - 1]!),
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

  /**
   * Residual attention downsampling of stage s (> 0): pools the previous stage's last map [B, H_{s−1}, N, N] over the
   * 2×2 windows the patch merging combines, on the query and the key axis, → γ ⊙ (Conv + bias) [B, H_s, N/4, N/4].
   */
  private residualAttention(s: number, previous: tf.Tensor4D): tf.Tensor4D {
    const a = this.attnDown[s - 1]!;
    const order = tf.tensor1d(a.order, 'int32');
    const windowed = tf.gather(tf.gather(previous, order, 2), order, 3);
    const map = tf.transpose(windowed, [0, 2, 3, 1]) as tf.Tensor4D; // NHWC: [B, N, N, H_{s−1}]
    const conv = a.depthwise
      ? tf.depthwiseConv2d(map, a.weight as unknown as tf.Tensor4D, 4, 'valid')
      : tf.conv2d(map, a.weight as unknown as tf.Tensor4D, 4, 'valid');
    return tf.transpose(tf.mul(tf.add(conv, a.bias), a.gamma), [0, 3, 1, 2]) as tf.Tensor4D;
  }

  forward(images: tf.Tensor4D, options?: LaViTForwardOptions): LaViTOutput {
    const {
      training = false,
      rng: givenRng,
      returnAttention = false,
    } = checkOptions<LaViTForwardOptions>(options, {
      training: true,
      rng: true,
      returnAttention: true,
    });
    if (typeof training !== 'boolean') {
      throw invalid('INVALID_ARGUMENT', 'options.training', 'a boolean', describeValue(training));
    }
    if (typeof returnAttention !== 'boolean') {
      throw invalid('INVALID_ARGUMENT', 'options.returnAttention', 'a boolean', describeValue(returnAttention));
    }
    if (givenRng !== undefined && typeof (givenRng as Partial<Rng>).uniform !== 'function') {
      throw invalid('INVALID_ARGUMENT', 'options.rng', 'an Rng (createRng)', describeValue(givenRng));
    }
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
    const rng = givenRng ?? this.rng;
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
          residual = this.residualAttention(s, previousLast!);
        }
        const state: StageState = {};
        this.stages[s]!.forEach((block, i) => {
          const r = block.apply(x, state, i === 0 ? residual : undefined, training, rng);
          x = r.out;
          state.chain = r.chain;
          previousLast = r.used;
          if (block.kind === 'la') laMaps.push(r.used);
          if (returnAttention) attentions.push(r.used);
        });
      }
      const features = tf.mean(layerNorm(x, this.norm.gamma, this.norm.beta, c.eps), 1) as tf.Tensor2D;
      const logits = this.head
        ? (linear(features, this.head.weight, this.head.bias) as tf.Tensor2D)
        : (tf.zeros([b, 0]) as tf.Tensor2D);
      const out: Record<string, tf.Tensor | tf.Tensor[]> = { logits, features, laMaps };
      if (returnAttention) out.attentions = attentions;
      return out as unknown as tf.TensorContainer;
    }) as unknown as LaViTOutput;
  }
}

export interface DiagonalityLossOptions {
  /**
   * Sign s of the diagonal-dominance term D = Σ_i ((N−1)·A_ii − Σ_{j≠i} A_ij). −1 (default) subtracts it, so that
   * minimising the loss raises each diagonal entry above its row: the loss's stated purpose, to keep the transformed
   * maps diagonal-dominant. +1 adds it instead (the sum read literally as "symmetry + dominance"), which rewards a
   * small diagonal — an ablation only.
   */
  diagonalSign?: 1 | -1;
}

/**
 * LaViT's Diagonality Preserving loss (arXiv 2406.00427, §3, "Diagonality Preserving Loss") for one or more maps
 * A [B, H, N, N] — pass `out.laMaps`, the maps the LA layers attend with (softmax(A^l), row-stochastic):
 *
 *     L_DP(A) = Σ_ij |A_ij − A_ji| + s · Σ_i ((N−1)·A_ii − Σ_{j≠i} A_ij),   s = −1 by default
 *
 * i.e. a symmetry term plus a diagonal-dominance term; summed over i, j, averaged over batch and heads, and summed
 * over the maps (the total objective is L_CE + λ·Σ_l L_DP^l). With s = −1 a more diagonal map has a lower loss; on a
 * row-stochastic map the dominance term Σ_i (N·A_ii − 1) lies in [−N, N(N−1)], so the loss is bounded below by
 * −N(N−1) per map and head.
 */
export function diagonalityPreservingLoss(maps: tf.Tensor | tf.Tensor[], options?: DiagonalityLossOptions): tf.Scalar {
  const { diagonalSign: sign = -1 } = checkOptions<DiagonalityLossOptions>(options, { diagonalSign: [1, -1] });
  const list = Array.isArray(maps) ? maps : [maps];
  if (list.length === 0) throw invalid('EMPTY_INPUT', 'maps', 'at least one attention map', 'an empty list');
  list.forEach((m, i) => {
    const t = assertRank(m, 4, `maps[${i}]`);
    if (t.shape[2] !== t.shape[3] || t.size === 0) {
      throw invalid(
        'SHAPE_MISMATCH',
        `maps[${i}]`,
        'non-empty square maps [B, H, N, N]',
        `shape ${formatShape(t.shape)}`,
      );
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
