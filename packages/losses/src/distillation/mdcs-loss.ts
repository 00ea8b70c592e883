import {
  assertLabels,
  checkNumber,
  checkOptions,
  describeValue,
  invalid,
  klDivergence,
  oneHotFloat,
  stopGradient,
  tf,
} from '@distillery/tensor';
import {
  type CheckFiniteOption,
  type ClassVector,
  checkClassVector,
  checkLogitPair,
  FINITE_SPEC,
  finiteCheck,
} from '../internal/checks';
import { fusedLossesActive, runFused } from '../internal/fused/kernels';
import { weightedCrossEntropy } from '../long-tail/cross-entropy';

export interface MdcsLossOptions extends CheckFiniteOption {
  /** Prior exponent λ_k of each expert. Default [−0.5, 1, 2.5] (head, medium = balanced softmax, few). */
  lambdas?: number[];
  /** Weight of the consistency self-distillation. Default 0.6. */
  consistencyWeight?: number;
  /** Current epoch, 1-indexed (base/base_trainer.py). Required. */
  epoch: number;
  /** Linear warm-up of the consistency term, min(epoch / warmupEpochs, 1). Default 20. */
  warmupEpochs?: number;
}

/**
 * MDCS loss (Zhao et al., ICCV 2023, arXiv 2308.09922; fistyee/MDCS, model/loss.py `MDCSLoss`): diversity loss +
 * consistency self-distillation over confidently sampled instances. Rows are [weak view; strong view] (2B rows),
 * labels [y; y].
 *
 *     z'_k = z_k + log(n^{λ_k} + 1e-9)                           n: raw class counts
 *     L_DL = Σ_k CE(z'_k, labels)                                all 2B rows, mean
 *     t_k  = softmax(z'_k[weak]) (constant),  s_k = logSoftmax(z'_k[strong])          T = 1 (hard-coded)
 *     m_k  = [argmax t_k == y_weak]                              CIS: the expert is right on the weak view
 *     KL_k = Σ_{n∈m_k} KL(t_k,n ‖ s_k,n) / |m_k|,  0 when m_k is empty
 *     L    = L_DL + consistencyWeight · min(epoch / warmupEpochs, 1) · Σ_k KL_k
 *
 * The config's `tau = 2` and `reweight_epoch` are never read by the reference's forward, so they are not options.
 * The CIS mask and the weak-view targets are constants. Argmax ties pick the lowest class index.
 *
 * @param expertLogits  one float32 `[2B, C]` logit matrix per expert (raw, before the prior adjustment)
 * @param labels        int32 `[2B]`
 * @param classCounts   training count of each class (positive) `[C]`
 * @returns scalar
 */
export function mdcsLoss(
  expertLogits: tf.Tensor2D[],
  labels: tf.Tensor1D,
  classCounts: ClassVector,
  options: MdcsLossOptions,
): tf.Scalar {
  const {
    lambdas = [-0.5, 1, 2.5],
    consistencyWeight = 0.6,
    epoch,
    warmupEpochs = 20,
    checkFinite,
  } = checkOptions<MdcsLossOptions>(options, {
    lambdas: true,
    consistencyWeight: true,
    epoch: true,
    warmupEpochs: true,
    ...FINITE_SPEC,
  });
  if (!Array.isArray(expertLogits) || expertLogits.length === 0) {
    throw invalid(
      'INVALID_ARGUMENT',
      'expertLogits',
      'a non-empty array of [2B, C] logits',
      describeValue(expertLogits),
    );
  }
  if (!Array.isArray(lambdas) || lambdas.length !== expertLogits.length) {
    throw invalid(
      'SHAPE_MISMATCH',
      'options.lambdas',
      `one exponent per expert (${expertLogits.length})`,
      describeValue(lambdas),
    );
  }
  for (let i = 0; i < lambdas.length; i++) checkNumber(lambdas[i], `options.lambdas[${i}]`);
  checkNumber(consistencyWeight, 'options.consistencyWeight', { min: 0 });
  checkNumber(epoch, 'options.epoch', { min: 0 });
  checkNumber(warmupEpochs, 'options.warmupEpochs', { min: 0 });
  const [rows, c] = checkLogitPair(expertLogits[0], expertLogits[0], 1, ['expertLogits[0]', 'expertLogits[0]']);
  for (let i = 1; i < expertLogits.length; i++) {
    checkLogitPair(expertLogits[0], expertLogits[i], 1, ['expertLogits[0]', `expertLogits[${i}]`]);
  }
  if (rows % 2 !== 0) {
    throw invalid('SHAPE_MISMATCH', 'expertLogits[0]', 'an even number of rows [weak; strong]', `${rows} rows`);
  }
  assertLabels(labels, c, 'labels', rows);
  const counts = checkClassVector(classCounts, c, 'classCounts');
  for (let i = 0; i < expertLogits.length; i++) {
    finiteCheck(checkFinite, { [`expertLogits[${i}]`]: expertLogits[i] as tf.Tensor });
  }
  const half = rows / 2;
  const warm = warmupEpochs === 0 ? 1 : Math.min(epoch / warmupEpochs, 1);
  const priorOf = (k: number) => counts.map((v) => Math.log(v ** (lambdas[k] as number) + 1e-9));
  if (fusedLossesActive()) {
    return tf.tidy(() => {
      const terms = expertLogits.map((logits, k) =>
        runFused(
          'DistilleryMdcsExpertLoss',
          { logits, labels },
          { prior: Array.from(Float32Array.from(priorOf(k))), klWeight: consistencyWeight * warm, scale: 1 },
        ),
      );
      return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
    });
  }
  return tf.tidy(() => {
    const g = oneHotFloat(labels, c);
    const weakLabels = tf.slice(labels, [0], [half]);
    const terms: tf.Tensor[] = [];
    const kls: tf.Tensor[] = [];
    expertLogits.forEach((z, k) => {
      const prior = tf.tensor1d(priorOf(k), 'float32');
      const adjusted = tf.add(z, prior) as tf.Tensor2D;
      terms.push(weightedCrossEntropy(tf.logSoftmax(adjusted) as tf.Tensor2D, g));
      const weak = stopGradient(tf.slice(adjusted, [0, 0], [half, c]));
      const logT = tf.logSoftmax(weak) as tf.Tensor2D;
      const logS = tf.logSoftmax(tf.slice(adjusted, [half, 0], [half, c])) as tf.Tensor2D;
      const mask = tf.cast(tf.equal(tf.argMax(weak, 1), tf.cast(weakLabels, 'int32')), 'float32');
      const perRow = klDivergence(tf.exp(logT), logS, { targetLogProbs: logT, reduction: 'none' });
      const selected = tf.sum(tf.mul(tf.sum(perRow, 1), mask));
      kls.push(tf.div(selected, tf.maximum(tf.sum(mask), 1)));
    });
    const diversity = tf.addN(terms);
    const consistency = tf.mul(tf.addN(kls), consistencyWeight * warm);
    return tf.add(diversity, consistency) as tf.Scalar;
  });
}
