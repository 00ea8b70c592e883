import {
  assertFinite,
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  describeValue,
  invalid,
  tf,
} from '@distillery/tensor';

export interface ScpnetGcnOptions {
  /** Width of the two hidden graph-convolution layers; default 2·D (the official 1024 → 2048 → 2048 → 1024). */
  hidden?: number;
  /** Seed of the uniform initialisation, default 0. */
  seed?: number;
}

/**
 * Creates the three graph-convolution weights of SCPNet's label GCN (jameslahm/SCPNet model.py, commit d56341a:
 * `gc1 = GraphConvolution(1024, 2048)`, `gc2 = (2048, 2048)`, `gc3 = (2048, 1024)`, no bias), for label embeddings
 * of width D: [D, H], [H, H], [H, D] with H = `hidden` (default 2·D). Each is initialised as `reset_parameters`
 * does, uniform in ±1/√(out_features). The tensors are variables (train them with the model; the official code
 * gives them their own learning rate `gcn_lr`).
 */
export function createScpnetGcn(embedDim: number, options?: ScpnetGcnOptions): tf.Variable[] {
  const opts = checkOptions<ScpnetGcnOptions>(options, { hidden: true, seed: true });
  const d = checkNumber(embedDim, 'embedDim', { min: 1, integer: true });
  const h = opts.hidden === undefined ? 2 * d : checkNumber(opts.hidden, 'options.hidden', { min: 1, integer: true });
  const rng = createRng(opts.seed === undefined ? 0 : checkNumber(opts.seed, 'options.seed', { integer: true }));
  const layer = (fanIn: number, fanOut: number) => {
    const bound = 1 / Math.sqrt(fanOut);
    const w = new Float32Array(fanIn * fanOut).map(() => rng.uniform(-bound, bound));
    return tf.variable(tf.tensor2d(w, [fanIn, fanOut]));
  };
  return [layer(d, h), layer(h, h), layer(h, d)];
}

/**
 * SCPNet's classifier from the structured semantic prior (Ding et al., CVPR 2023, arXiv 2303.13223 §3.2; the
 * text path of jameslahm/SCPNet model.py `SCPNet.forward`, commit d56341a): the label embeddings E [C, D] are
 * propagated over the label-to-label adjacency A [C, C] (`adjacency` of `scpnetLabelPrior`, the official
 * `gcn_relation`) by three graph convolutions, GraphConvolution(x) = A·(x·W), with LeakyReLU(0.2) between them, a
 * residual connection to E and a row-wise L2 normalisation:
 *
 *     H₁ = LeakyReLU₀.₂(A·E·W₁);   H₂ = LeakyReLU₀.₂(A·H₁·W₂);   G = A·H₂·W₃ + E;   classifier = G / ‖G‖_row
 *
 * Returns the classifier weights [C, D]; `scpnetLogits` scores image features against them. Differentiable in the
 * weights and in E (give a tf.Variable for learned label embeddings). In the official model E is CLIP's text
 * embedding of the prompt "a photo of a <class>." (with a learned prompt context); any text encoder's class
 * embeddings, or learned ones, take its place here.
 */
export function scpnetGcnClassifier(
  weights: readonly tf.Tensor[],
  labelEmbeddings: tf.Tensor,
  adjacency: tf.Tensor,
): tf.Tensor2D {
  const e = assertRank(labelEmbeddings, 2, 'labelEmbeddings');
  const [c, d] = e.shape as [number, number];
  const a = assertRank(adjacency, 2, 'adjacency');
  if (a.shape[0] !== c || a.shape[1] !== c) {
    throw invalid('SHAPE_MISMATCH', 'adjacency', `[${c}, ${c}] (one row per label embedding)`, `[${a.shape}]`);
  }
  if (!Array.isArray(weights) || weights.length !== 3) {
    throw invalid('INVALID_ARGUMENT', 'weights', 'the 3 GCN weights of createScpnetGcn', describeValue(weights));
  }
  let width = d;
  weights.forEach((w, i) => {
    const t = assertRank(w, 2, `weights[${i}]`);
    const expectedOut = i === 2 ? d : t.shape[1];
    if (t.shape[0] !== width || t.shape[1] !== expectedOut) {
      throw invalid('SHAPE_MISMATCH', `weights[${i}]`, `[${width}, ${i === 2 ? d : 'H'}]`, `[${t.shape}]`);
    }
    width = t.shape[1]!;
  });
  assertFinite(a, 'adjacency');
  return tf.tidy(() => {
    const gc = (x: tf.Tensor2D, w: tf.Tensor) => tf.matMul(a as tf.Tensor2D, tf.matMul(x, w as tf.Tensor2D));
    const h1 = tf.leakyRelu(gc(e as tf.Tensor2D, weights[0]!), 0.2) as tf.Tensor2D;
    const h2 = tf.leakyRelu(gc(h1, weights[1]!), 0.2) as tf.Tensor2D;
    const g = tf.add(gc(h2, weights[2]!), e) as tf.Tensor2D;
    return tf.div(g, tf.norm(g, 2, 1, true)) as tf.Tensor2D;
  });
}

export interface ScpnetLogitsOptions {
  /** Logit scale (`cfg.scale`): 10 for COCO, VOC and CUB (default); NUS-WIDE uses CLIP's learned scale. */
  scale?: number;
}

/**
 * SCPNet logits (jameslahm/SCPNet model.py `SCPNet.forward`): scale · (f / ‖f‖)·Wᵀ for image features f [N, D]
 * and the classifier W [C, D] of `scpnetGcnClassifier` (already row-normalised), i.e. scaled cosine similarities.
 */
export function scpnetLogits(features: tf.Tensor, classifier: tf.Tensor, options?: ScpnetLogitsOptions): tf.Tensor2D {
  const { scale: scaleOption } = checkOptions<ScpnetLogitsOptions>(options, { scale: true });
  const f = assertRank(features, 2, 'features');
  const w = assertRank(classifier, 2, 'classifier');
  if (w.shape[1] !== f.shape[1]) {
    throw invalid('SHAPE_MISMATCH', 'classifier', `[C, ${f.shape[1]}] (the feature width)`, `[${w.shape}]`);
  }
  const scale =
    scaleOption === undefined ? 10 : checkNumber(scaleOption, 'options.scale', { min: 0, minExclusive: true });
  return tf.tidy(
    () =>
      tf.mul(
        tf.matMul(tf.div(f, tf.norm(f, 2, 1, true)) as tf.Tensor2D, w as tf.Tensor2D, false, true),
        scale,
      ) as tf.Tensor2D,
  );
}
