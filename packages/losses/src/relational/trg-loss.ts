import {
  assertDtype,
  assertRank,
  assertSameShape,
  checkNumber,
  checkOptions,
  describeValue,
  formatShape,
  invalid,
  type Rng,
  stopGradient,
  tf,
} from '@distillery/tensor';
import { type CheckFiniteOption, FINITE_SPEC, finiteCheck } from '../internal/checks';

/*
 * TRG — KD via Token-level Relationship Graph + contextual loss (Zhang, Liu, He, arXiv 2306.12442). No official code
 * is linked, and we could not check the formulas below against the paper's text: they follow secondary summaries of
 * it (a k-NN token graph with a Gaussian kernel, a local KL over neighbours, a global InfoNCE with a dynamic
 * temperature, a contextual self-similarity MSE). Every choice the summaries leave open is ours, and is an option:
 *
 * - Tokens: `[N, L, D]` for student and teacher with the same D (apply the student→teacher linear projection before
 *   calling). M = `sampleTokens` tokens are sampled per image, the same positions for student and teacher
 *   (`tokenIndices`, or drawn with `rng`); default M = 16 (all tokens when L <= M).
 * - Graph: all N·M sampled tokens of the batch are the nodes. Neighbours are the k = 8 nearest by the teacher's squared
 *   Euclidean distance (self excluded; ties at the k-th distance are all kept), and the same neighbour set is used for
 *   the student. A_ij = exp(−‖x_i − x_j‖² / (2σ)) on neighbours; σ = 'auto' (default) is the mean of the teacher's
 *   neighbour squared distances (a constant, shared by both graphs) so the kernel neither saturates nor underflows at
 *   any feature scale; a number fixes σ.
 * - L_local = mean_i KL( softmax_{j∈kNN(i)} A^S_ij ‖ softmax_{j∈kNN(i)} A^T_ij ): the direction as summarised,
 *   non-neighbours masked out of the softmax, averaged over the N·M nodes (Σ_i divided by the node count, so that the
 *   weight does not depend on the batch size).
 * - L_global: InfoNCE over the nodes: cosine similarity of student token i with every teacher token, divided by τ_g
 *   (`temperature`, default 0.1); the positive is teacher token i. `trgTemperature(epoch, epochs)` gives a cosine
 *   decay from 1 to 0.1 (high early, lower later), our choice for the paper's dynamic schedule.
 * - L_contextual (inner-instance): CS = softmax(F Fᵀ / √D) per image over its M sampled tokens; MSE(CS^S, CS^T), mean
 *   over all entries. `contextualLoss` is the same over all L tokens, without sampling.
 * - total = local + global + contextual (weights 1; the paper's α, β, γ are not known to us). The logit part
 *   (CE + λ·KD) is not included: use kdLoss.
 *
 * The teacher is detached in every term.
 */

export interface TrgLossOptions extends CheckFiniteOption {
  /** Tokens sampled per image, M. Default 16 (all L tokens when L <= M). */
  sampleTokens?: number;
  /** Explicit token positions `[N][M]` (each in [0, L)); overrides sampling. */
  tokenIndices?: number[][];
  /** Random source for the sampling (required when M < L and no tokenIndices are given). */
  rng?: Rng;
  /** Neighbours per node. Default 8 (clipped to the node count − 1). */
  k?: number;
  /** Kernel width σ in exp(−d² / (2σ)), or 'auto' (default): mean teacher neighbour squared distance. */
  sigma?: number | 'auto';
  /** τ_g of the global InfoNCE. Default 0.1 (see trgTemperature for a schedule). */
  temperature?: number;
  /** Term weights. Default 1 each. */
  weights?: { local?: number; global?: number; contextual?: number };
}

export interface TrgLossParts {
  local: tf.Scalar;
  global: tf.Scalar;
  contextual: tf.Scalar;
  total: tf.Scalar;
}

function checkTokens(student: unknown, teacher: unknown): [number, number, number] {
  const s = assertRank(student, 3, 'studentTokens');
  const t = assertRank(teacher, 3, 'teacherTokens');
  assertDtype(s, ['float32'], 'studentTokens');
  assertDtype(t, ['float32'], 'teacherTokens');
  assertSameShape(s, t, 'studentTokens', 'teacherTokens');
  const [n, l, d] = s.shape as [number, number, number];
  if (n === 0 || l === 0 || d === 0) {
    throw invalid('EMPTY_INPUT', 'studentTokens', 'a non-empty [N, L, D] tensor', `shape ${formatShape(s.shape)}`);
  }
  return [n, l, d];
}

/** Row-wise softmax(F Fᵀ / √D) per image: `[N, M, D]` → `[N, M, M]`. */
function selfSimilarity(tokens: tf.Tensor3D): tf.Tensor3D {
  const d = tokens.shape[2] as number;
  return tf.softmax(tf.div(tf.matMul(tokens, tokens, false, true), Math.sqrt(d))) as tf.Tensor3D;
}

/**
 * TRG contextual (inner-instance) loss over all L tokens: MSE( softmax(S Sᵀ/√D), softmax(T Tᵀ/√D) ) per image, mean
 * over all entries (arXiv 2306.12442; see the module note). Teacher detached.
 *
 * @param studentTokens  float32 `[N, L, D]`
 * @param teacherTokens  float32 `[N, L, D]`
 */
export function contextualLoss(
  studentTokens: tf.Tensor3D,
  teacherTokens: tf.Tensor3D,
  options?: CheckFiniteOption,
): tf.Scalar {
  const { checkFinite } = checkOptions<CheckFiniteOption>(options, FINITE_SPEC);
  checkTokens(studentTokens, teacherTokens);
  finiteCheck(checkFinite, { studentTokens, teacherTokens });
  return tf.tidy(() =>
    tf.mean(tf.squaredDifference(selfSimilarity(studentTokens), selfSimilarity(stopGradient(teacherTokens)))),
  ) as tf.Scalar;
}

function sampleIndices(n: number, l: number, m: number, options: TrgLossOptions): number[][] {
  const { tokenIndices, rng } = options;
  if (tokenIndices !== undefined) {
    if (!Array.isArray(tokenIndices) || tokenIndices.length !== n) {
      throw invalid('SHAPE_MISMATCH', 'options.tokenIndices', `${n} rows (one per image)`, describeValue(tokenIndices));
    }
    const width = (tokenIndices[0] ?? []).length;
    tokenIndices.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== width || width === 0) {
        throw invalid(
          'SHAPE_MISMATCH',
          `options.tokenIndices[${i}]`,
          `${width || 'M >= 1'} indices`,
          describeValue(row),
        );
      }
      for (const v of row) checkNumber(v, `options.tokenIndices[${i}]`, { min: 0, max: l - 1, integer: true });
    });
    return tokenIndices;
  }
  if (m >= l) return Array.from({ length: n }, () => Array.from({ length: l }, (_, j) => j));
  if (!rng || typeof (rng as Rng).permutation !== 'function') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.rng',
      `an Rng to sample ${m} of ${l} tokens (or options.tokenIndices)`,
      describeValue(rng),
    );
  }
  return Array.from({ length: n }, () => Array.from(rng.permutation(l)).slice(0, m));
}

/**
 * TRG distillation loss (arXiv 2306.12442): token-graph local loss, global InfoNCE and contextual loss over sampled
 * tokens, returned as parts and their weighted total. Every open choice is listed in the module note (k = 8,
 * σ = 'auto', M = 16, τ_g = 0.1, KL(student ‖ teacher) over kNN-masked softmaxes, weights 1).
 *
 * @param studentTokens  float32 `[N, L, D]` (projected to the teacher's D)
 * @param teacherTokens  float32 `[N, L, D]` (constant)
 */
export function trgLoss(
  studentTokens: tf.Tensor3D,
  teacherTokens: tf.Tensor3D,
  options?: TrgLossOptions,
): TrgLossParts {
  const opts = checkOptions<TrgLossOptions>(options, {
    sampleTokens: true,
    tokenIndices: true,
    rng: true,
    k: true,
    sigma: true,
    temperature: true,
    weights: true,
    ...FINITE_SPEC,
  });
  const { sampleTokens = 16, k = 8, sigma = 'auto', temperature = 0.1, weights = {}, checkFinite } = opts;
  const [n, l, d] = checkTokens(studentTokens, teacherTokens);
  checkNumber(sampleTokens, 'options.sampleTokens', { min: 1, integer: true });
  checkNumber(k, 'options.k', { min: 1, integer: true });
  if (sigma !== 'auto') checkNumber(sigma, 'options.sigma', { min: 0, minExclusive: true });
  checkNumber(temperature, 'options.temperature', { min: 0, minExclusive: true });
  const {
    local: wLocal = 1,
    global: wGlobal = 1,
    contextual: wContextual = 1,
  } = checkOptions<NonNullable<TrgLossOptions['weights']>>(
    weights,
    { local: true, global: true, contextual: true },
    'options.weights',
  );
  checkNumber(wLocal, 'options.weights.local', { min: 0 });
  checkNumber(wGlobal, 'options.weights.global', { min: 0 });
  checkNumber(wContextual, 'options.weights.contextual', { min: 0 });
  finiteCheck(checkFinite, { studentTokens, teacherTokens });
  const indices = sampleIndices(n, l, Math.min(sampleTokens, l), opts);
  const m = (indices[0] as number[]).length;
  const nodes = n * m;
  if (nodes < 2) throw invalid('OUT_OF_RANGE', 'studentTokens', 'at least 2 sampled tokens in the batch', `${nodes}`);
  const kk = Math.min(k, nodes - 1);
  const selection = new Float32Array(n * m * l);
  indices.forEach((row, i) => {
    row.forEach((j, r) => {
      selection[(i * m + r) * l + j] = 1;
    });
  });
  return tf.tidy(() => {
    const select = tf.tensor3d(selection, [n, m, l]);
    const s = tf.matMul(select, studentTokens) as tf.Tensor3D; // [N, M, D]
    const t = tf.matMul(select, stopGradient(teacherTokens)) as tf.Tensor3D;

    // token graph over all N·M sampled tokens
    const sFlat = tf.reshape(s, [nodes, d]) as tf.Tensor2D;
    const tFlat = tf.reshape(t, [nodes, d]) as tf.Tensor2D;
    const squaredDistances = (x: tf.Tensor2D) => {
      const sq = tf.sum(tf.square(x), 1, true);
      return tf.relu(tf.add(tf.sub(sq, tf.mul(tf.matMul(x, x, false, true), 2)), tf.transpose(sq)));
    };
    const dS = squaredDistances(sFlat);
    const dT = squaredDistances(tFlat);
    const eye = tf.eye(nodes);
    const dTNoSelf = tf.add(dT, tf.mul(eye, 1e30));
    const kth = tf.slice(tf.neg(tf.topk(tf.neg(dTNoSelf), kk).values), [0, kk - 1], [nodes, 1]);
    const neighbours = tf.cast(tf.lessEqual(dTNoSelf, kth), 'float32');
    const width =
      sigma === 'auto'
        ? tf.maximum(tf.div(tf.sum(tf.mul(dT, neighbours)), tf.sum(neighbours)), 1e-12)
        : tf.scalar(sigma);
    const affinityLogits = (dist: tf.Tensor) =>
      tf.sub(tf.exp(tf.neg(tf.div(dist, tf.mul(width, 2)))), tf.mul(tf.sub(1, neighbours), 1e9));
    const logPS = tf.logSoftmax(affinityLogits(dS));
    const logPT = tf.logSoftmax(affinityLogits(dT));
    const local = tf.div(tf.sum(tf.mul(tf.mul(tf.exp(logPS), neighbours), tf.sub(logPS, logPT))), nodes);

    // global InfoNCE: student token i against every teacher token, positive = teacher token i
    const unit = (x: tf.Tensor2D) => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-24)));
    const similarities = tf.div(tf.matMul(unit(sFlat), unit(tFlat), false, true), temperature);
    const global = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(similarities), eye), 1)));

    const contextual = tf.mean(tf.squaredDifference(selfSimilarity(s), selfSimilarity(t)));
    const total = tf.addN([tf.mul(local, wLocal), tf.mul(global, wGlobal), tf.mul(contextual, wContextual)]);
    return {
      local: local as tf.Scalar,
      global: global as tf.Scalar,
      contextual: contextual as tf.Scalar,
      total: total as tf.Scalar,
    };
  });
}

export interface TrgTemperatureOptions {
  /** τ at epoch 0. Default 1. */
  start?: number;
  /** τ from the last epoch on. Default 0.1. */
  end?: number;
}

/**
 * Our schedule for TRG's dynamic global temperature (high, coarse, early; lower later): cosine decay
 * τ = end + (start − end)·(1 + cos(π·min(epoch/epochs, 1)))/2, default 1 → 0.1. See the module note.
 */
export function trgTemperature(epoch: number, epochs: number, options?: TrgTemperatureOptions): number {
  const { start = 1, end = 0.1 } = checkOptions<TrgTemperatureOptions>(options, { start: true, end: true });
  checkNumber(epoch, 'epoch', { min: 0 });
  checkNumber(epochs, 'epochs', { min: 0, minExclusive: true });
  checkNumber(start, 'options.start', { min: 0, minExclusive: true });
  checkNumber(end, 'options.end', { min: 0, minExclusive: true });
  const progress = Math.min(epoch / epochs, 1);
  return end + ((start - end) * (1 + Math.cos(Math.PI * progress))) / 2;
}
