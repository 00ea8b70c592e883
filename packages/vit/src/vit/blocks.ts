import {
  assertRank,
  checkEnum,
  checkNumber,
  checkOptions,
  formatShape,
  invalid,
  type Rng,
  scaledDotProductAttention,
  tf,
} from '@distillery/tensor';
import { addLayerNorm, addLinear, dropPath, gelu, init, layerNorm, linear } from '../core/layers';
import type { ParamStore } from '../core/module';

/**
 * PatchEmbed (timm layers/patch_embed.py): Conv2d(C → D, kernel p, stride p) → flatten → [B, N, D], on NHWC
 * images. `mode: 'linear'` computes the same map as a matmul over reshaped p×p×C patches with the same weights
 * (the conv kernel HWIO read as [p·p·C, D]); it avoids the conv kernels and is often faster on wasm.
 * Stored as `<name>.proj.weight` [D, C, p, p] (OIHW) and `<name>.proj.bias` [D] in PyTorch.
 */
export class PatchEmbed {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(
    store: ParamStore,
    name: string,
    readonly patchSize: number,
    readonly inChannels: number,
    readonly dim: number,
    rng: Rng,
    readonly mode: 'conv' | 'linear' = 'conv',
  ) {
    checkEnum(mode, 'mode', ['conv', 'linear']);
    checkNumber(patchSize, 'patchSize', { min: 1, integer: true });
    const fanIn = inChannels * patchSize * patchSize;
    this.weight = store.add(
      `${name}.proj.weight`,
      init.torchDefault([patchSize, patchSize, inChannels, dim], rng, fanIn),
      'conv2d',
    );
    this.bias = store.add(`${name}.proj.bias`, init.torchDefault([dim], rng, fanIn));
  }

  /** [B, H, W, C] → [B, (H/p)·(W/p), D]. */
  apply(images: tf.Tensor4D): tf.Tensor3D {
    const [b, h, w, c] = (assertRank(images, 4, 'images') as tf.Tensor4D).shape;
    const p = this.patchSize;
    if (c !== this.inChannels || h % p !== 0 || w % p !== 0) {
      throw invalid(
        'SHAPE_MISMATCH',
        'images',
        `NHWC [B, H, W, ${this.inChannels}] with H and W multiples of the patch size ${p}`,
        `shape ${formatShape(images.shape)}`,
      );
    }
    const gh = h / p;
    const gw = w / p;
    if (this.mode === 'conv') {
      const y = tf.add(tf.conv2d(images, this.weight as unknown as tf.Tensor4D, p, 'valid'), this.bias);
      return tf.reshape(y, [b, gh * gw, this.dim]);
    }
    // [B·gh, p, gw, p·C] → [B·gh, gw, p, p·C] → [B, gh·gw, p·p·C]: patch vectors in (row, col, channel) order.
    const rows = tf.reshape(images, [b * gh, p, gw, p * c]);
    const patches = tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [b * gh * gw, p * p * c]);
    const y = tf.add(tf.matMul(patches, tf.reshape(this.weight, [p * p * c, this.dim])), this.bias);
    return tf.reshape(y, [b, gh * gw, this.dim]);
  }
}

/** Splits [B, N, D] into heads: [B, H, N, D/H]. */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [b, n, d] = assertRank(x, 3, 'x').shape as [number, number, number];
  checkNumber(heads, 'heads', { min: 1, integer: true });
  if (d % heads !== 0)
    throw invalid('SHAPE_MISMATCH', 'x', `a last axis divisible by heads = ${heads}`, `shape ${formatShape(x.shape)}`);
  return tf.transpose(tf.reshape(x, [b, n, heads, d / heads]), [0, 2, 1, 3]);
}

/** Merges heads back: [B, H, N, hd] → [B, N, H·hd]. */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  const [b, h, n, hd] = assertRank(x, 4, 'x').shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, n, h * hd]);
}

/**
 * Multi-head self-attention (timm layers/attention.py): qkv = Linear(D, 3D); attn = softmax(q·hd^−½ · kᵀ);
 * out = proj(attn · v). q, k, v are the three D-wide column blocks of qkv (timm's reshape [B,N,3,H,hd]).
 * softmax(q·kᵀ·scale)·v is one fused op (`scaledDotProductAttention`, as timm's `fused_attn` path); when the
 * attention maps are asked for (`returnAttention`) it runs as batched matMuls and a softmax instead, so that the maps
 * exist (and carry gradients).
 */
export class Attention {
  readonly qkv: { weight: tf.Variable; bias?: tf.Variable };
  readonly proj: { weight: tf.Variable; bias?: tf.Variable };
  readonly scale: number;
  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly numHeads: number,
    rng: Rng,
    options: { qkvBias?: boolean } = {},
  ) {
    checkOptions<{ qkvBias?: boolean }>(options, { qkvBias: true });
    checkNumber(numHeads, 'numHeads', { min: 1, integer: true });
    if (dim % numHeads !== 0) {
      throw invalid('INVALID_ARGUMENT', 'config.numHeads', `a divisor of embedDim ${dim}`, String(numHeads));
    }
    this.scale = (dim / numHeads) ** -0.5;
    this.qkv = addLinear(store, `${name}.qkv`, dim, 3 * dim, rng, { bias: options.qkvBias ?? true });
    this.proj = addLinear(store, `${name}.proj`, dim, dim, rng);
  }

  /** [B, N, D] → { out [B, N, D], attn [B, H, N, N] (only with `returnAttention`) }. */
  apply(x: tf.Tensor3D, options: AttentionRunOptions = {}): { out: tf.Tensor3D; attn?: tf.Tensor4D } {
    checkOptions<AttentionRunOptions>(options, { returnAttention: true });
    checkTokens(x, this.dim);
    const qkv = linear(x, this.qkv.weight, this.qkv.bias);
    const [q, k, v] = tf.split(qkv, 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const [qh, kh, vh] = [splitHeads(q, this.numHeads), splitHeads(k, this.numHeads), splitHeads(v, this.numHeads)];
    let attn: tf.Tensor4D | undefined;
    let heads: tf.Tensor;
    if (options.returnAttention) {
      attn = tf.softmax(tf.matMul(tf.mul(qh, this.scale), kh, false, true)) as tf.Tensor4D;
      heads = tf.matMul(attn, vh);
    } else {
      heads = scaledDotProductAttention(qh, kh, vh, { scale: this.scale });
    }
    const out = linear(mergeHeads(heads), this.proj.weight, this.proj.bias) as tf.Tensor3D;
    return attn ? { out, attn } : { out };
  }
}

export interface AttentionRunOptions {
  /** Also return the attention maps softmax(q·kᵀ·scale) [B, H, N, N] (runs the unfused ops). Default false. */
  returnAttention?: boolean;
}

/** Throws naming `x` unless it is [B, N, dim]. */
function checkTokens(x: unknown, dim: number): void {
  const t = assertRank(x, 3, 'x');
  if (t.shape[2] !== dim) {
    throw invalid('SHAPE_MISMATCH', 'x', `tokens [B, N, ${dim}]`, `shape ${formatShape(t.shape)}`);
  }
}

/** timm Mlp: fc1 (D → hidden) → exact GELU → fc2 (hidden → D); dropout 0. */
export class Mlp {
  readonly fc1: { weight: tf.Variable; bias?: tf.Variable };
  readonly fc2: { weight: tf.Variable; bias?: tf.Variable };
  constructor(store: ParamStore, name: string, dim: number, hidden: number, rng: Rng, outDim = dim) {
    this.fc1 = addLinear(store, `${name}.fc1`, dim, hidden, rng);
    this.fc2 = addLinear(store, `${name}.fc2`, hidden, outDim, rng);
  }

  apply(x: tf.Tensor): tf.Tensor {
    return linear(gelu(linear(x, this.fc1.weight, this.fc1.bias)), this.fc2.weight, this.fc2.bias);
  }
}

export interface BlockOptions {
  mlpRatio?: number;
  qkvBias?: boolean;
  /** LayerScale init (timm `init_values`); off (null) for DeiT. Stored as `ls1.gamma`, `ls2.gamma`. */
  layerScaleInit?: number | null;
  dropPath?: number;
  eps?: number;
}

export interface RunOptions {
  training?: boolean;
  /** Draws drop-path masks; required for drop path to act in training. */
  rng?: Rng;
  /** Also return the block's attention maps (see `Attention.apply`). Default false. */
  returnAttention?: boolean;
}

/** timm `Block`, pre-norm: x += drop_path(ls1·attn(LN1 x)); x += drop_path(ls2·mlp(LN2 x)). LN eps 1e-6. */
export class Block {
  readonly norm1: { gamma: tf.Variable; beta: tf.Variable };
  readonly norm2: { gamma: tf.Variable; beta: tf.Variable };
  readonly attn: Attention;
  readonly mlp: Mlp;
  readonly ls1?: tf.Variable;
  readonly ls2?: tf.Variable;
  readonly dropPathRate: number;
  readonly eps: number;
  readonly dim: number;
  constructor(store: ParamStore, name: string, dim: number, numHeads: number, rng: Rng, options: BlockOptions = {}) {
    checkOptions<BlockOptions>(options, {
      mlpRatio: true,
      qkvBias: true,
      layerScaleInit: true,
      dropPath: true,
      eps: true,
    });
    if (options.dropPath !== undefined) checkNumber(options.dropPath, 'options.dropPath', { min: 0, max: 1 });
    this.dim = dim;
    this.eps = options.eps ?? 1e-6;
    this.dropPathRate = options.dropPath ?? 0;
    this.norm1 = addLayerNorm(store, `${name}.norm1`, dim);
    this.attn = new Attention(store, `${name}.attn`, dim, numHeads, rng, { qkvBias: options.qkvBias });
    const ls = options.layerScaleInit;
    if (ls !== undefined && ls !== null) this.ls1 = store.add(`${name}.ls1.gamma`, init.fill([dim], ls));
    this.norm2 = addLayerNorm(store, `${name}.norm2`, dim);
    this.mlp = new Mlp(store, `${name}.mlp`, dim, Math.floor(dim * (options.mlpRatio ?? 4)), rng);
    if (ls !== undefined && ls !== null) this.ls2 = store.add(`${name}.ls2.gamma`, init.fill([dim], ls));
  }

  apply(x: tf.Tensor3D, run: RunOptions = {}): { out: tf.Tensor3D; attn?: tf.Tensor4D } {
    checkOptions<RunOptions>(run, { training: true, rng: true, returnAttention: true }, 'run');
    checkTokens(x, this.dim);
    const training = run.training ?? false;
    const { out: a, attn } = this.attn.apply(layerNorm(x, this.norm1.gamma, this.norm1.beta, this.eps) as tf.Tensor3D, {
      returnAttention: run.returnAttention ?? false,
    });
    const branch1 = this.ls1 ? tf.mul(a, this.ls1) : a;
    const x1 = tf.add(x, dropPath(branch1, this.dropPathRate, training, run.rng));
    const m = this.mlp.apply(layerNorm(x1, this.norm2.gamma, this.norm2.beta, this.eps));
    const branch2 = this.ls2 ? tf.mul(m, this.ls2) : m;
    const out = tf.add(x1, dropPath(branch2, this.dropPathRate, training, run.rng)) as tf.Tensor3D;
    return attn ? { out, attn } : { out };
  }
}
