import { assertRank, checkNumber, createRng, describeValue, invalid, stopGradient, tf } from '@distillery/tensor';
import { type AdaptivePick, adaptivePicking } from './adaptive-picking';
import { type LabelPropagationOptions, labelPropagation } from './label-propagation';

/** Which parameters the inner loop adapts: MAML all, ANIL head only, BOIL body only (the rest stay at θ). */
export type MetaAlgorithm = 'maml' | 'anil' | 'boil';

/** Functional parameters of a small MLP: body = [W₁, b₁, W₂, b₂, …] (ReLU layers), head = [W, b] (linear). */
export interface MlpParams {
  body: tf.Tensor[];
  head: tf.Tensor[];
}

/** A functional MLP with He-uniform-like init from a seed; the tensors are variables (meta-parameters). */
export function createMlp(
  inputDim: number,
  hidden: number[],
  numClasses: number,
  seed = 0,
): { body: tf.Variable[]; head: tf.Variable[] } {
  checkNumber(inputDim, 'inputDim', { min: 1, integer: true });
  checkNumber(numClasses, 'numClasses', { min: 2, integer: true });
  const rng = createRng(seed);
  const layer = (fanIn: number, fanOut: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    const w = new Float32Array(fanIn * fanOut).map(() => rng.uniform(-bound, bound));
    const b = new Float32Array(fanOut).map(() => rng.uniform(-bound, bound));
    return tf.tidy(() => [tf.variable(tf.tensor2d(w, [fanIn, fanOut])), tf.variable(tf.tensor1d(b))]);
  };
  const body: tf.Variable[] = [];
  let dim = inputDim;
  for (const h of hidden) {
    body.push(...layer(dim, checkNumber(h, 'hidden[]', { min: 1, integer: true })));
    dim = h;
  }
  return { body, head: layer(dim, numClasses) };
}

export function mlpEmbed(body: tf.Tensor[], x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x as tf.Tensor2D;
    for (let i = 0; i < body.length; i += 2)
      h = tf.relu(tf.add(tf.matMul(h, body[i] as tf.Tensor2D), body[i + 1]!)) as tf.Tensor2D;
    return h;
  });
}

export function mlpForward(params: MlpParams, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(mlpEmbed(params.body, x), params.head[0] as tf.Tensor2D), params.head[1]!));
}

/**
 * Mean cross-entropy that is correctly twice differentiable in tfjs 4.22. tfjs loses the second-order path through
 * tensors a kernel saves from its OUTPUT for the backward pass (Exp, LogSoftmax, Softmax, Sigmoid, …: their clone
 * is taped before the kernel node that produces it, so the outer backward pass drops it). The row log-sum-exp is
 * therefore accumulated with softplus, whose gradient only uses its saved input:
 *
 *     LSE(z₁…z_C) = r_C,   r₁ = z₁,   r_j = r_{j−1} + softplus(z_j − r_{j−1})
 *     CE = mean_n (LSE(z_n) − z_{n,y_n})
 */
export function metaCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, c: number): tf.Scalar {
  return tf.tidy(() => {
    const n = logits.shape[0]!;
    const cols = tf.split(logits as tf.Tensor2D, c, 1);
    let r: tf.Tensor = cols[0]!;
    for (let j = 1; j < c; j++) r = tf.add(r, tf.softplus(tf.sub(cols[j]!, r)));
    const picked = tf.sum(tf.mul(tf.oneHot(labels, c), logits), 1, true);
    return tf.div(tf.sum(tf.sub(r, picked)), n) as tf.Scalar;
  });
}

export interface InnerStepOptions {
  /** Inner step size, default 0.5 (gp-maml). */
  stepSize?: number;
  /** 'maml' (default), 'anil', 'boil'. */
  algorithm?: MetaAlgorithm;
  /** Detach the inner gradient (first-order MAML). Default false: second order, differentiated through. */
  firstOrder?: boolean;
}

/**
 * One inner-loop step θ' = θ − α·∇_θ CE(f_θ(x), y) on the parameters the algorithm adapts. Second order by default:
 * called inside an outer tf.grad / variableGrads, the outer gradient flows through ∇_θ (verified against finite
 * differences in the tests). The loss is `metaCrossEntropy` (see there why not tf.logSoftmax); an outer loss taken
 * through a second-order step must use it too.
 */
export function innerStep(params: MlpParams, x: tf.Tensor, y: tf.Tensor1D, options: InnerStepOptions = {}): MlpParams {
  const alpha = options.stepSize === undefined ? 0.5 : checkNumber(options.stepSize, 'options.stepSize', { min: 0 });
  const algorithm = options.algorithm ?? 'maml';
  if (algorithm !== 'maml' && algorithm !== 'anil' && algorithm !== 'boil') {
    throw invalid('INVALID_ARGUMENT', 'options.algorithm', "'maml', 'anil' or 'boil'", describeValue(algorithm));
  }
  const c = params.head[1]!.shape[0]!;
  const adaptBody = algorithm !== 'anil';
  const adaptHead = algorithm !== 'boil';
  const adapted = [...(adaptBody ? params.body : []), ...(adaptHead ? params.head : [])];
  const loss = (...ps: tf.Tensor[]) => {
    let o = 0;
    const body = adaptBody ? ps.slice(0, params.body.length) : params.body;
    o = adaptBody ? params.body.length : 0;
    const head = adaptHead ? ps.slice(o, o + 2) : params.head;
    return metaCrossEntropy(mlpForward({ body, head }, x), y, c);
  };
  const next = tf.tidy(() => {
    const grads = tf.grads(loss)(adapted);
    return adapted.map((p, i) => tf.sub(p, tf.mul(options.firstOrder ? stopGradient(grads[i]!) : grads[i]!, alpha)));
  });
  let o = 0;
  const body = adaptBody ? next.slice(0, params.body.length) : params.body;
  o = adaptBody ? params.body.length : 0;
  const head = adaptHead ? next.slice(o, o + 2) : params.head;
  return { body, head };
}

export interface GpAdaptOptions extends InnerStepOptions, LabelPropagationOptions {
  /** Queries kept before class balancing, default 75. */
  picNum?: number;
}

export interface GpAdaptResult {
  /** Query logits with the re-trained parameters θ'' (or θ' when nothing was picked). */
  queryLogits: tf.Tensor2D;
  /** Query logits of plain MAML/ANIL/BOIL (θ', support only). */
  baselineLogits: tf.Tensor2D;
  /** Label-propagation scores of the queries (row-major [Q, C]). */
  propagation: Float64Array;
  pick: AdaptivePick;
}

/**
 * GP-MAML / GP-ANIL / GP-BOIL per-task adaptation (Liu et al., arXiv 2207.04217; branpent/gp-maml
 * train.py / valid.py):
 *
 *     1. θ' = θ − α∇CE(f_θ(S), y_S)                      (inner step on the support set)
 *     2. F = labelPropagation(embed_θ'(S ∪ Q), y_S)     (constant pseudo-label scores for the queries)
 *     3. pick = adaptivePicking(F_Q)                      (class-balanced confident queries)
 *     4. θ'' = θ − α∇CE(f_θ(S ∪ Q_pick), [y_S; ŷ_pick]) (restart from θ; θ'' = θ' when nothing is picked)
 *     5. query logits f_θ''(Q)                            (outer loss CE(·, y_Q), differentiable in θ)
 *
 * Deviations: the MLP stands in for the 4-conv backbone, σ_i of the graph is given (TPN learns it with a
 * RelationNetwork), and the TPN loss on F (meta-train only) is not included since F is solved on the host.
 * Every class must appear in the support set.
 */
export function gpAdapt(
  params: MlpParams,
  supportX: tf.Tensor,
  supportY: ArrayLike<number>,
  queryX: tf.Tensor,
  options: GpAdaptOptions = {},
): GpAdaptResult {
  assertRank(supportX, 2, 'supportX');
  assertRank(queryX, 2, 'queryX');
  const c = params.head[1]!.shape[0]!;
  const ns = supportX.shape[0]!;
  if (!supportY || supportY.length !== ns) {
    throw invalid('SHAPE_MISMATCH', 'supportY', `${ns} labels`, describeValue(supportY));
  }
  const present = new Uint8Array(c);
  for (let i = 0; i < ns; i++) {
    const y = supportY[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= c)
      throw invalid('OUT_OF_RANGE', 'supportY', `class ids in [0, ${c})`, `${y}`);
    present[y] = 1;
  }
  const missing = present.indexOf(0);
  if (missing >= 0) {
    throw invalid(
      'INVALID_ARGUMENT',
      'supportY',
      `every one of the ${c} classes in the support set`,
      `class ${missing} missing`,
    );
  }
  const yS = tf.tensor1d(Int32Array.from(supportY), 'int32');
  const adapted = innerStep(params, supportX, yS, options);
  const baselineLogits = mlpForward(adapted, queryX);
  const emb = tf.tidy(() => mlpEmbed(adapted.body, tf.concat([supportX, queryX], 0)));
  const f = labelPropagation(emb, supportY, c, options);
  emb.dispose();
  const propagation = f.slice(ns * c);
  const pick = adaptivePicking(propagation, c, { picNum: options.picNum });
  let queryLogits: tf.Tensor2D;
  if (pick.minLen === 0) {
    queryLogits = tf.clone(baselineLogits);
  } else {
    const xAll = tf.tidy(() => tf.concat([supportX, tf.gather(queryX, tf.tensor1d(pick.indices, 'int32'))], 0));
    const yAll = tf.tensor1d(Int32Array.from([...Array.from(supportY), ...pick.labels]), 'int32');
    const retrained = innerStep(params, xAll, yAll, options);
    queryLogits = mlpForward(retrained, queryX);
    disposeAdapted(retrained, params);
    tf.dispose([xAll, yAll]);
  }
  disposeAdapted(adapted, params);
  yS.dispose();
  return { queryLogits, baselineLogits, propagation, pick };
}

function disposeAdapted(p: MlpParams, base: MlpParams): void {
  for (const t of [...p.body, ...p.head]) if (!base.body.includes(t) && !base.head.includes(t)) t.dispose();
}
