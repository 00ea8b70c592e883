import {
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  formatShape,
  invalid,
  type Rng,
  randomUniform,
  scaledDotProductAttention,
  tf,
} from '@distillery/tensor';
import { BatchNorm2d } from '../cnn/layers';
import { addLayerNorm, addLinear, drop, gelu, init, layerNorm, linear } from '../core/layers';
import { Module, type ParamStore } from '../core/module';

type Lin = { weight: tf.Variable; bias?: tf.Variable };

const pad1 = (x: tf.Tensor4D) =>
  tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]) as tf.Tensor4D;

/** xavier_uniform_ for a PyTorch weight [out, in] (returned in tfjs [in, out] layout). */
function xavierUniform(inF: number, outF: number, rng: Rng): tf.Tensor {
  const bound = Math.sqrt(6 / (inF + outF));
  return randomUniform([inF, outF], rng, { min: -bound, max: bound });
}

/**
 * MCrossAttention (AnkurDeria/MFT Model/MFT.ipynb): only the first (CLS) token queries. Each head's slice of width
 * hd = C/H is projected to the full width C by wq/wk/wv (Linear(hd → C), no bias), attention is
 * softmax(q·kᵀ·hd^−½) [B, H, 1, N], and the heads' C-wide outputs are concatenated (H·C) and projected back to C.
 * Returns [B, 1, C] (the block broadcasts it onto every token, as the reference does).
 */
class MCrossAttention {
  readonly wq: Lin;
  readonly wk: Lin;
  readonly wv: Lin;
  readonly proj: Lin;
  readonly scale: number;
  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly heads: number,
    rng: Rng,
  ) {
    const hd = dim / heads;
    this.scale = hd ** -0.5;
    this.wq = addLinear(store, `${name}.wq`, hd, dim, rng, { init: 'torch_default', bias: false });
    this.wk = addLinear(store, `${name}.wk`, hd, dim, rng, { init: 'torch_default', bias: false });
    this.wv = addLinear(store, `${name}.wv`, hd, dim, rng, { init: 'torch_default', bias: false });
    this.proj = addLinear(store, `${name}.proj`, dim * heads, dim, rng, { init: 'torch_default' });
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    const [b, n, c] = x.shape;
    const h = this.heads;
    const hd = c / h;
    // [B, N, H, hd] → Linear(hd → C) → [B, N, H, C] → [B, H, N, C]
    const perHead = (t: tf.Tensor, w: Lin, tokens: number) =>
      tf.transpose(linear(tf.reshape(t, [b, tokens, h, hd]), w.weight), [0, 2, 1, 3]);
    const q = perHead(tf.slice(x, [0, 0, 0], [b, 1, c]), this.wq, 1);
    const k = perHead(x, this.wk, n);
    const v = perHead(x, this.wv, n);
    const attended = scaledDotProductAttention(q, k, v, { scale: this.scale }); // softmax(q·kᵀ·scale)·v, fused
    const out = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [b, 1, h * c]);
    return linear(out, this.proj.weight, this.proj.bias) as tf.Tensor3D;
  }
}

/** MFT encoder block: x = MCrossAttention(LN x) + x (broadcast over tokens); x = Mlp(LN x) + x; LN eps 1e-6. */
class MFTBlock {
  readonly attnNorm: { gamma: tf.Variable; beta: tf.Variable };
  readonly ffnNorm: { gamma: tf.Variable; beta: tf.Variable };
  readonly attn: MCrossAttention;
  readonly fc1: Lin;
  readonly fc2: Lin;
  constructor(store: ParamStore, name: string, dim: number, heads: number, hidden: number, rng: Rng) {
    this.attnNorm = addLayerNorm(store, `${name}.attention_norm`, dim);
    this.ffnNorm = addLayerNorm(store, `${name}.ffn_norm`, dim);
    // Mlp: xavier_uniform weights, normal(1e-6) biases.
    this.fc1 = {
      weight: store.add(`${name}.ffn.fc1.weight`, xavierUniform(dim, hidden, rng), 'linear'),
      bias: store.add(`${name}.ffn.fc1.bias`, init.normal([hidden], rng, 1e-6)),
    };
    this.fc2 = {
      weight: store.add(`${name}.ffn.fc2.weight`, xavierUniform(hidden, dim, rng), 'linear'),
      bias: store.add(`${name}.ffn.fc2.bias`, init.normal([dim], rng, 1e-6)),
    };
    this.attn = new MCrossAttention(store, `${name}.attn`, dim, heads, rng);
  }

  apply(x: tf.Tensor3D, training: boolean, dropout: number, rng: Rng): tf.Tensor3D {
    const a = this.attn.apply(layerNorm(x, this.attnNorm.gamma, this.attnNorm.beta, 1e-6) as tf.Tensor3D);
    const x1 = tf.add(drop(a, dropout, training, rng), x) as tf.Tensor3D;
    const h = layerNorm(x1, this.ffnNorm.gamma, this.ffnNorm.beta, 1e-6);
    const m = linear(
      drop(gelu(linear(h, this.fc1.weight, this.fc1.bias)), dropout, training, rng),
      this.fc2.weight,
      this.fc2.bias,
    );
    return tf.add(drop(m, dropout, training, rng), x1) as tf.Tensor3D;
  }
}

/**
 * The MFT conv tokenizers (AnkurDeria/MFT Model/MFT.ipynb): the HSI stack Conv3d(1→8, (9,3,3), pad (0,1,1)) + BN3d +
 * ReLU → HetConv (groupwise 3×3, g = 16 if 8·(NC−8) % FM == 0 else 8, plus pointwise 1×1) + BN + ReLU, and the
 * LiDAR Conv2d(→4FM, 3×3, pad 1) + BN + GELU. Registered under `<prefix>conv5.*`, `<prefix>conv6.*`,
 * `<prefix>lidarConv.*`. NHWC patches in, NHWC feature maps [B, p, p, 4FM] out.
 */
export class ConvTokenizers {
  readonly groups: number;
  readonly dim: number;
  private readonly conv3dWeight: tf.Variable;
  private readonly conv3dBias: tf.Variable;
  private readonly bn3d: BatchNorm2d;
  private readonly gwcWeight: tf.Variable;
  private readonly gwcBias: tf.Variable;
  private readonly pwcWeight: tf.Variable;
  private readonly pwcBias: tf.Variable;
  private readonly bnHet: BatchNorm2d;
  private readonly lidarWeight: tf.Variable;
  private readonly lidarBias: tf.Variable;
  private readonly bnLidar: BatchNorm2d;

  constructor(
    s: ParamStore,
    prefix: string,
    readonly hsiBands: number,
    readonly lidarBands: number,
    readonly fm: number,
    rng: Rng,
  ) {
    checkNumber(hsiBands, 'config.hsiBands', { min: 9, integer: true });
    checkNumber(lidarBands, 'config.lidarBands', { min: 1, integer: true });
    const dim = 4 * fm;
    this.dim = dim;
    const cin = 8 * (hsiBands - 8);
    this.groups = cin % fm === 0 ? dim / 4 : dim / 8;
    if (cin % this.groups !== 0) {
      throw invalid(
        'INVALID_ARGUMENT',
        'config.hsiBands',
        `8·(NC−8) divisible by the HetConv groups (${this.groups})`,
        String(hsiBands),
      );
    }
    this.conv3dWeight = s.add(`${prefix}conv5.0.weight`, init.torchDefault([8, 1, 9, 3, 3], rng, 81));
    this.conv3dBias = s.add(`${prefix}conv5.0.bias`, init.torchDefault([8], rng, 81));
    this.bn3d = new BatchNorm2d(s, `${prefix}conv5.1`, 8);
    const gin = cin / this.groups;
    this.gwcWeight = s.add(`${prefix}conv6.0.gwc.weight`, init.torchDefault([3, 3, gin, dim], rng, gin * 9), 'conv2d');
    this.gwcBias = s.add(`${prefix}conv6.0.gwc.bias`, init.torchDefault([dim], rng, gin * 9));
    this.pwcWeight = s.add(`${prefix}conv6.0.pwc.weight`, init.torchDefault([1, 1, cin, dim], rng, cin), 'conv2d');
    this.pwcBias = s.add(`${prefix}conv6.0.pwc.bias`, init.torchDefault([dim], rng, cin));
    this.bnHet = new BatchNorm2d(s, `${prefix}conv6.1`, dim);
    // The reference hard-codes 64 LiDAR channels, i.e. 4·FM with FM = 16; the width follows 4·FM here.
    const lf = lidarBands * 9;
    this.lidarWeight = s.add(
      `${prefix}lidarConv.0.weight`,
      init.torchDefault([3, 3, lidarBands, dim], rng, lf),
      'conv2d',
    );
    this.lidarBias = s.add(`${prefix}lidarConv.0.bias`, init.torchDefault([dim], rng, lf));
    this.bnLidar = new BatchNorm2d(s, `${prefix}lidarConv.1`, dim);
  }

  /** Throws naming `hsi` / `lidar` unless they are NHWC [B, p, p, NC] and [B, p, p, NCL]. */
  checkInputs(hsi: unknown, lidar: unknown, p: number): [tf.Tensor4D, tf.Tensor4D] {
    const h = assertRank(hsi, 4, 'hsi') as tf.Tensor4D;
    const l = assertRank(lidar, 4, 'lidar') as tf.Tensor4D;
    if (h.shape[1] !== p || h.shape[2] !== p || h.shape[3] !== this.hsiBands) {
      throw invalid('SHAPE_MISMATCH', 'hsi', `NHWC [B, ${p}, ${p}, ${this.hsiBands}]`, `shape ${formatShape(h.shape)}`);
    }
    if (l.shape[0] !== h.shape[0] || l.shape[1] !== p || l.shape[2] !== p || l.shape[3] !== this.lidarBands) {
      throw invalid(
        'SHAPE_MISMATCH',
        'lidar',
        `NHWC [${h.shape[0]}, ${p}, ${p}, ${this.lidarBands}]`,
        `shape ${formatShape(l.shape)}`,
      );
    }
    return [h, l];
  }

  /** HSI tokenizer convs: [B, p, p, NC] → [B, p, p, 4FM] (the HetConv output after BN + ReLU). */
  hsiFeatures(hsi: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const [b, p, , nc] = hsi.shape;
    const d = nc - 8;
    // Conv3d(1 → 8, (9,3,3), pad (0,1,1)) as Σ_kd conv2d over band slices, with the band axis folded into the batch.
    const bands = tf.transpose(hsi, [0, 3, 1, 2]); // [B, NC, p, p]
    const w = this.conv3dWeight; // [8, 1, 9, 3, 3]
    const terms: tf.Tensor4D[] = [];
    for (let kd = 0; kd < 9; kd++) {
      const slice = tf.reshape(tf.slice(bands, [0, kd, 0, 0], [b, d, p, p]), [b * d, p, p, 1]) as tf.Tensor4D;
      const filter = tf.reshape(
        tf.transpose(tf.reshape(tf.slice(w, [0, 0, kd, 0, 0], [8, 1, 1, 3, 3]), [8, 3, 3]), [1, 2, 0]),
        [3, 3, 1, 8],
      ) as tf.Tensor4D;
      terms.push(tf.conv2d(pad1(slice), filter, 1, 'valid'));
    }
    const conv3d = tf.add(tf.addN(terms), this.conv3dBias) as tf.Tensor4D; // [B·D, p, p, 8]
    const act = tf.relu(this.bn3d.apply(conv3d, training));
    // torch reshape [B, 8, D, p, p] → [B, 8·D, p, p]: channel index o·D + d.
    const x = tf.reshape(tf.transpose(tf.reshape(act, [b, d, p * p, 8]), [0, 2, 3, 1]), [
      b,
      p,
      p,
      8 * d,
    ]) as tf.Tensor4D;
    // HetConv: groupwise 3×3 (pad 1) + pointwise 1×1.
    const g = this.groups;
    const cin = 8 * d;
    const gin = cin / g;
    const dim = this.dim;
    const gout = dim / g;
    const padded = pad1(x);
    const groupsOut: tf.Tensor[] = [];
    for (let k = 0; k < g; k++) {
      const xin = tf.slice(padded, [0, 0, 0, k * gin], [b, p + 2, p + 2, gin]) as tf.Tensor4D;
      const wk = tf.slice(this.gwcWeight, [0, 0, 0, k * gout], [3, 3, gin, gout]) as tf.Tensor4D;
      groupsOut.push(tf.conv2d(xin, wk, 1, 'valid'));
    }
    const gwc = tf.add(tf.concat(groupsOut, 3), this.gwcBias);
    const pwc = tf.add(tf.conv2d(x, this.pwcWeight as unknown as tf.Tensor4D, 1, 'valid'), this.pwcBias);
    return tf.relu(this.bnHet.apply(tf.add(gwc, pwc) as tf.Tensor4D, training)) as tf.Tensor4D;
  }

  /** LiDAR conv: [B, p, p, NCL] → Conv2d(→4FM = 64, 3×3, pad 1) + BN + GELU. */
  lidarFeatures(lidar: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const y = tf.add(tf.conv2d(pad1(lidar), this.lidarWeight as unknown as tf.Tensor4D, 1, 'valid'), this.lidarBias);
    return gelu(this.bnLidar.apply(y as tf.Tensor4D, training)) as tf.Tensor4D;
  }
}

export interface MFTConfig {
  /** Number of HSI bands NC (> 8: the spectral conv kernel is 9). */
  hsiBands: number;
  /** Number of LiDAR rasters. */
  lidarBands: number;
  numClasses: number;
  /** Patch size (11 in the MFT protocol). */
  patchSize?: number;
  /** FM; the token width is 4·FM = 64. */
  fm?: number;
  /** Heads of MCrossAttention (8). */
  heads?: number;
  /** Encoder depth (2). */
  depth?: number;
  /** MLP hidden width (512). */
  mlpHidden?: number;
  /** HSI tokens (4) from the tokenizer's W_a. */
  hsiTokens?: number;
  /** Dropout after the position embedding, in the attention output and the MLP (0.1). */
  dropout?: number;
  seed?: number | string;
}

/**
 * The tokenizers and the whole Multimodal Fusion Transformer baseline (Roy et al., TGRS 2023; AnkurDeria/MFT
 * Model/MFT.ipynb @de214e5, "pixel tokenization" cell), the runnable protocol that MMFormer is compared against:
 *
 *     HSI   [B, p, p, NC] → Conv3d(1→8, (9,3,3), pad (0,1,1)) + BN3d + ReLU → [B, p, p, 8·(NC−8)]
 *           → HetConv (groupwise 3×3 with g = 16 if 8·(NC−8) % FM == 0 else 8, plus pointwise 1×1) + BN + ReLU
 *           → X [B, p², 4FM];  A = softmax((X·W_a)ᵀ) [B, 4, p²];  T = A·(X·W_v)  (4 tokens)
 *     LiDAR [B, p, p, NCL] → Conv2d(→64, 3×3, pad 1) + BN + GELU → the same tokenization with W_a of one column
 *           → the CLS token
 *     tokens [cls_lidar, T] + pos-embed (randn) → dropout → 2 MFT blocks → LN → CLS → Linear(classes)
 *
 * Inputs are NHWC patches (the reference takes [B, NC, p²]). Names follow the reference modules (`conv5.0`,
 * `conv6.0.gwc`, `lidarConv.0`, `token_wA`, `ca.layer.0.attn.wq`, `out3`, …).
 */
export class MFT extends Module {
  readonly config: Required<Omit<MFTConfig, 'seed'>>;
  readonly tokenizers: ConvTokenizers;
  private readonly rng: Rng;
  private readonly tokenWA: tf.Variable;
  private readonly tokenWV: tf.Variable;
  private readonly tokenWAL: tf.Variable;
  private readonly tokenWVL: tf.Variable;
  private readonly posEmbed: tf.Variable;
  private readonly blocks: MFTBlock[] = [];
  private readonly encoderNorm: { gamma: tf.Variable; beta: tf.Variable };
  private readonly out3: Lin;

  constructor(config: MFTConfig) {
    super();
    checkOptions<MFTConfig>(
      config,
      {
        hsiBands: true,
        lidarBands: true,
        numClasses: true,
        patchSize: true,
        fm: true,
        heads: true,
        depth: true,
        mlpHidden: true,
        hsiTokens: true,
        dropout: true,
        seed: true,
      },
      'config',
    );
    const c = {
      patchSize: 11,
      fm: 16,
      heads: 8,
      depth: 2,
      mlpHidden: 512,
      hsiTokens: 4,
      dropout: 0.1,
      ...config,
    };
    checkNumber(c.numClasses, 'config.numClasses', { min: 1, integer: true });
    checkNumber(c.patchSize, 'config.patchSize', { min: 1, integer: true });
    checkNumber(c.fm, 'config.fm', { min: 1, integer: true });
    checkNumber(c.heads, 'config.heads', { min: 1, integer: true });
    checkNumber(c.depth, 'config.depth', { min: 0, integer: true });
    checkNumber(c.mlpHidden, 'config.mlpHidden', { min: 1, integer: true });
    checkNumber(c.hsiTokens, 'config.hsiTokens', { min: 1, integer: true });
    checkNumber(c.dropout, 'config.dropout', { min: 0, max: 0.99 });
    const dim = 4 * c.fm;
    if (dim % c.heads !== 0) throw invalid('INVALID_ARGUMENT', 'config.heads', `a divisor of ${dim}`, String(c.heads));
    const { seed, ...rest } = c;
    this.config = rest;
    const rng = createRng(seed ?? 0);
    this.rng = rng.fork();
    const s = this.params;
    this.tokenizers = new ConvTokenizers(s, '', c.hsiBands, c.lidarBands, c.fm, rng);
    const xavierNormal = (shape: number[], fanIn: number, fanOut: number) =>
      init.normal(shape, rng, Math.sqrt(2 / (fanIn + fanOut)));
    // xavier_normal_ on [1, a, b] tensors: fan_in = a·b, fan_out = 1·b (PyTorch's rule for >2-D tensors).
    this.tokenWA = s.add('token_wA', xavierNormal([1, c.hsiTokens, dim], c.hsiTokens * dim, dim));
    this.tokenWV = s.add('token_wV', xavierNormal([1, dim, dim], dim * dim, dim));
    this.tokenWAL = s.add('token_wA_L', xavierNormal([1, 1, dim], dim, dim));
    this.tokenWVL = s.add('token_wV_L', xavierNormal([1, dim, dim], dim * dim, dim));
    this.posEmbed = s.add('position_embeddings', init.normal([1, c.hsiTokens + 1, dim], rng, 1));
    for (let i = 0; i < c.depth; i++)
      this.blocks.push(new MFTBlock(s, `ca.layer.${i}`, dim, c.heads, c.mlpHidden, rng));
    this.encoderNorm = addLayerNorm(s, 'ca.encoder_norm', dim);
    this.out3 = {
      weight: s.add('out3.weight', xavierUniform(dim, c.numClasses, rng), 'linear'),
      bias: s.add('out3.bias', init.normal([c.numClasses], rng, 1e-6)),
    };
  }

  /** HetConv groups (16 or 8). */
  get groups(): number {
    return this.tokenizers.groups;
  }

  /** Token learner: X [B, P, C] → softmax((X·W_aᵀ)ᵀ) · (X·W_v), W_a [1, T, C] → [B, T, C']. */
  static tokenize(x: tf.Tensor3D, wa: tf.Tensor, wv: tf.Tensor): tf.Tensor3D {
    const c = x.shape[2];
    const t = wa.shape[1]!;
    const a = tf.softmax(tf.transpose(linear(x, tf.transpose(tf.reshape(wa, [t, c]))), [0, 2, 1])); // [B, T, P]
    const vv = linear(x, tf.reshape(wv, [c, wv.shape[2]!])); // [B, P, C']
    return tf.matMul(a, vv) as tf.Tensor3D;
  }

  /** The tokens [cls_lidar, T_hsi…] before the position embedding: [B, 1 + hsiTokens, 4FM]. */
  tokens(hsi: tf.Tensor4D, lidar: tf.Tensor4D, training: boolean): tf.Tensor3D {
    const b = hsi.shape[0];
    const p = this.config.patchSize;
    const h = this.tokenizers.hsiFeatures(hsi, training);
    const l = this.tokenizers.lidarFeatures(lidar, training);
    const xl = tf.reshape(l, [b, p * p, l.shape[3]]) as tf.Tensor3D;
    const xh = tf.reshape(h, [b, p * p, h.shape[3]]) as tf.Tensor3D;
    return tf.concat(
      [MFT.tokenize(xl, this.tokenWAL, this.tokenWVL), MFT.tokenize(xh, this.tokenWA, this.tokenWV)],
      1,
    ) as tf.Tensor3D;
  }

  forward(
    hsi: tf.Tensor4D,
    lidar: tf.Tensor4D,
    options: { training?: boolean; rng?: Rng } = {},
  ): { logits: tf.Tensor2D; features: tf.Tensor2D } {
    checkOptions<{ training?: boolean; rng?: Rng }>(options, { training: true, rng: true });
    const [h0, l0] = this.tokenizers.checkInputs(hsi, lidar, this.config.patchSize);
    const training = options.training ?? false;
    const rng = options.rng ?? this.rng;
    const dropout = this.config.dropout;
    return tf.tidy(() => {
      const b = h0.shape[0];
      const dim = 4 * this.config.fm;
      let x = drop(tf.add(this.tokens(h0, l0, training), this.posEmbed), dropout, training, rng) as tf.Tensor3D;
      for (const blk of this.blocks) x = blk.apply(x, training, dropout, rng);
      const encoded = layerNorm(x, this.encoderNorm.gamma, this.encoderNorm.beta, 1e-6);
      const features = tf.reshape(tf.slice(encoded, [0, 0, 0], [b, 1, dim]), [b, dim]) as tf.Tensor2D;
      const logits = linear(features, this.out3.weight, this.out3.bias) as tf.Tensor2D;
      return { logits, features } as unknown as tf.TensorContainer;
    }) as unknown as { logits: tf.Tensor2D; features: tf.Tensor2D };
  }
}
