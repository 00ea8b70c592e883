import {
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  describeValue,
  invalid,
  stopGradient,
  tf,
} from '@distillery/tensor';
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
  if (!Array.isArray(hidden))
    throw invalid('INVALID_ARGUMENT', 'hidden', 'an array of layer widths', describeValue(hidden));
  for (const [i, h] of hidden.entries()) checkNumber(h, `hidden[${i}]`, { min: 1, integer: true });
  checkNumber(seed, 'seed', { integer: true });
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
    body.push(...layer(dim, h));
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
  checkNumber(c, 'c', { min: 2, integer: true });
  const n = checkClassLabels(logits, labels, c, 'logits', 'labels');
  return tf.tidy(() => {
    const cols = tf.split(logits as tf.Tensor2D, c, 1);
    let r: tf.Tensor = cols[0]!;
    for (let j = 1; j < c; j++) r = tf.add(r, tf.softplus(tf.sub(cols[j]!, r)));
    const picked = tf.sum(tf.mul(tf.oneHot(labels, c), logits), 1, true);
    return tf.div(tf.sum(tf.sub(r, picked)), n) as tf.Scalar;
  });
}

/**
 * Checks logits [N, C] against int labels [N] in [0, C) (read back on the host: a few dozen values per episode).
 * Returns N.
 */
function checkClassLabels(logits: tf.Tensor, labels: tf.Tensor, c: number, logitsName: string, labelsName: string) {
  assertRank(logits, 2, logitsName);
  const [n, width] = logits.shape as [number, number];
  if (width !== c) {
    throw invalid('SHAPE_MISMATCH', logitsName, `[N, ${c}] (C = ${c} classes)`, `[${n}, ${width}]`);
  }
  assertRank(labels, 1, labelsName);
  if (labels.shape[0] !== n) {
    throw invalid('SHAPE_MISMATCH', labelsName, `${n} labels (one per row of ${logitsName})`, `[${labels.shape[0]}]`);
  }
  const values = labels.dataSync();
  for (let i = 0; i < n; i++) {
    const y = values[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw invalid('OUT_OF_RANGE', labelsName, `class ids in [0, ${c})`, `${y} at position ${i}`);
    }
  }
  return n;
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
export function innerStep(params: MlpParams, x: tf.Tensor, y: tf.Tensor1D, options?: InnerStepOptions): MlpParams {
  const opts = checkOptions<InnerStepOptions>(options, INNER_STEP_SPEC);
  const alpha = opts.stepSize === undefined ? 0.5 : checkNumber(opts.stepSize, 'options.stepSize', { min: 0 });
  const algorithm = opts.algorithm ?? 'maml';
  if (opts.firstOrder !== undefined && typeof opts.firstOrder !== 'boolean') {
    throw invalid('INVALID_ARGUMENT', 'options.firstOrder', 'a boolean', describeValue(opts.firstOrder));
  }
  const c = checkMlpParams(params);
  assertRank(x, 2, 'x');
  if (x.shape[1] !== params.body[0]?.shape[0] && params.body.length > 0) {
    throw invalid('SHAPE_MISMATCH', 'x', `[N, ${params.body[0]!.shape[0]}] (the MLP's input size)`, `[${x.shape}]`);
  }
  assertRank(y, 1, 'y');
  if (y.shape[0] !== x.shape[0]) throw invalid('SHAPE_MISMATCH', 'y', `${x.shape[0]} labels`, `[${y.shape[0]}]`);
  const yv = y.dataSync();
  for (let i = 0; i < yv.length; i++) {
    if (!Number.isInteger(yv[i]) || yv[i]! < 0 || yv[i]! >= c) {
      throw invalid(
        'OUT_OF_RANGE',
        'y',
        `class ids in [0, ${c}) (the head has ${c} outputs)`,
        `${yv[i]} at position ${i}`,
      );
    }
  }
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
    return adapted.map((p, i) => tf.sub(p, tf.mul(opts.firstOrder ? stopGradient(grads[i]!) : grads[i]!, alpha)));
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

const INNER_STEP_SPEC = { stepSize: true, algorithm: ['maml', 'anil', 'boil'], firstOrder: true } as const;

/** The number of classes C of an MLP's head [W [D, C], b [C]], after checking its structure. */
function checkMlpParams(params: MlpParams): number {
  if (
    !params ||
    typeof params !== 'object' ||
    !Array.isArray(params.body) ||
    !Array.isArray(params.head) ||
    params.head.length !== 2 ||
    params.body.length % 2 !== 0
  ) {
    throw invalid('INVALID_ARGUMENT', 'params', '{ body: [W, b, …], head: [W, b] } (createMlp)', describeValue(params));
  }
  const b = params.head[1]!;
  if (b?.rank !== 1) throw invalid('INVALID_ARGUMENT', 'params.head[1]', 'a rank-1 bias [C]', describeValue(b));
  return b.shape[0]!;
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
  options?: GpAdaptOptions,
): GpAdaptResult {
  const { picNum, k, alpha, sigma, selfLoops, ...inner } = checkOptions<GpAdaptOptions>(options, {
    ...INNER_STEP_SPEC,
    picNum: true,
    k: true,
    alpha: true,
    sigma: true,
    selfLoops: true,
  });
  const propagationOptions: LabelPropagationOptions = { k, alpha, sigma, selfLoops };
  assertRank(supportX, 2, 'supportX');
  assertRank(queryX, 2, 'queryX');
  const c = checkMlpParams(params);
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
  const adapted = innerStep(params, supportX, yS, inner);
  const baselineLogits = mlpForward(adapted, queryX);
  const emb = tf.tidy(() => mlpEmbed(adapted.body, tf.concat([supportX, queryX], 0)));
  const f = labelPropagation(emb, supportY, c, propagationOptions);
  emb.dispose();
  const propagation = f.slice(ns * c);
  const pick = adaptivePicking(propagation, c, { picNum });
  let queryLogits: tf.Tensor2D;
  if (pick.minLen === 0) {
    queryLogits = tf.clone(baselineLogits);
  } else {
    const xAll = tf.tidy(() => tf.concat([supportX, tf.gather(queryX, tf.tensor1d(pick.indices, 'int32'))], 0));
    const yAll = tf.tensor1d(Int32Array.from([...Array.from(supportY), ...pick.labels]), 'int32');
    const retrained = innerStep(params, xAll, yAll, inner);
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
