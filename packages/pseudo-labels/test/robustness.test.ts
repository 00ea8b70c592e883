/**
 * The reliability sweep's bad inputs for @distillery/pseudo-labels (and `fewShotEpisode` of @distillery/data, the
 * episode sampler the GP-MAML functions are used with): every public function that takes options or labels gets a
 * clear DistilleryError naming the argument, never a silent wrong result or a raw tfjs/TypeError.
 */
import { fewShotEpisode } from '@distillery/data';
import {
  adaptivePicking,
  confidencePseudoLabels,
  createMlp,
  createScpnetGcn,
  FlexMatchThresholds,
  gaussJordanSolve,
  gpAdapt,
  innerStep,
  labelPropagation,
  maskedConsistencyLoss,
  metaCrossEntropy,
  ScpnetLabelMemory,
  scpnetClasswiseAcc,
  scpnetConsistencyLoss,
  scpnetGcnClassifier,
  scpnetLabelPrior,
  scpnetLogits,
  scpnetPriorTargets,
  scpnetPseudoLabels,
} from '@distillery/pseudo-labels';
import { createRng, tf } from '@distillery/tensor';
import { expectDistilleryError } from '@distillery/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const created: tf.Tensor[] = [];
const t2 = (values: number[], shape: [number, number]) => {
  const t = tf.tensor2d(values, shape);
  created.push(t);
  return t;
};
const t1 = (values: number[], dtype: 'int32' | 'float32' = 'float32') => {
  const t = tf.tensor1d(values, dtype);
  created.push(t);
  return t;
};
afterAll(() => tf.dispose(created));

let tried = 0;
/** fn must throw a DistilleryError whose argument matches `argument` (exactly, or the regex), named in its message. */
function bad(fn: () => unknown, argument: string | RegExp, code?: string): void {
  tried++;
  const err = expectDistilleryError(fn, argument, { code });
  if (typeof argument === 'string') expect(err.message).toContain(argument);
  else expect(err.message).toMatch(argument);
}

// 3 samples × 3 classes
const logits3 = () => t2([2, 0, 0, 0, 3, 0, 0, 0, 4], [3, 3]);

describe('robustness: FixMatch / FlexMatch', () => {
  it('confidencePseudoLabels', () => {
    bad(() => confidencePseudoLabels(logits3(), { treshold: 0.9 } as never), 'options.treshold');
    bad(() => confidencePseudoLabels(logits3(), { threshold: 1.5 }), 'options.threshold');
    bad(() => confidencePseudoLabels(logits3(), { classThresholds: [0.5, 0.5] }), 'options.classThresholds');
    bad(() => confidencePseudoLabels(logits3(), 0.95 as never), 'options');
    bad(() => confidencePseudoLabels(t2([Number.NaN, 0, 0, 0], [2, 2])), 'weakLogits');
  });

  it('maskedConsistencyLoss: labels out of range, wrong shapes, mask outside [0, 1]', () => {
    bad(() => maskedConsistencyLoss(logits3(), t1([0, 1, 9], 'int32'), t1([1, 1, 1])), 'labels', 'OUT_OF_RANGE');
    bad(() => maskedConsistencyLoss(logits3(), t1([0, -1, 2], 'int32'), t1([1, 1, 1])), 'labels', 'OUT_OF_RANGE');
    bad(() => maskedConsistencyLoss(logits3(), t1([0, 1.5, 2]), t1([1, 1, 1])), 'labels', 'OUT_OF_RANGE');
    bad(() => maskedConsistencyLoss(logits3(), t1([0, 1], 'int32'), t1([1, 1, 1])), 'labels', 'SHAPE_MISMATCH');
    bad(() => maskedConsistencyLoss(logits3(), t1([0, 1, 2], 'int32'), t1([1, 1])), 'mask', 'SHAPE_MISMATCH');
    bad(() => maskedConsistencyLoss(logits3(), t1([0, 1, 2], 'int32'), t1([1, 2, 1])), 'mask', 'OUT_OF_RANGE');
  });

  it('FlexMatchThresholds: constructor options and step', () => {
    bad(() => new FlexMatchThresholds(10, 3, { mapping: 'concave' as never }), 'options.mapping');
    bad(() => new FlexMatchThresholds(10, 3, { warmUp: false } as never), 'options.warmUp');
    bad(() => new FlexMatchThresholds(10, 3, { warmup: 'yes' as never }), 'options.warmup');
    bad(() => new FlexMatchThresholds(10, 3, { threshold: -0.1 }), 'options.threshold');
    bad(() => new FlexMatchThresholds(0, 3), 'numUnlabeled');
    bad(() => new FlexMatchThresholds(10, 1), 'numClasses');
    const flex = new FlexMatchThresholds(10, 3);
    bad(() => flex.step(logits3(), [0, 1, 10]), 'indices', 'OUT_OF_RANGE');
    bad(() => flex.step(logits3(), [0, 1]), 'indices', 'SHAPE_MISMATCH');
    bad(() => flex.step(t2([1, 2, 3, 4], [2, 2]), [0, 1]), 'weakLogits', 'SHAPE_MISMATCH');
  });
});

describe('robustness: GP-MAML', () => {
  let params: { body: tf.Variable[]; head: tf.Variable[] };
  beforeAll(() => {
    params = createMlp(4, [5], 2, 0);
  });
  afterAll(() => tf.dispose([...params.body, ...params.head]));
  const x = () => t2([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], [3, 4]);

  it('createMlp', () => {
    bad(() => createMlp(0, [4], 2), 'inputDim');
    bad(() => createMlp(4, [4], 1), 'numClasses');
    bad(() => createMlp(4, 8 as never, 2), 'hidden');
    bad(() => createMlp(4, [4, 0], 2), 'hidden[1]');
    bad(() => createMlp(4, [4], 2, 0.5), 'seed');
  });

  it('metaCrossEntropy: mismatched C, labels out of range, wrong shapes', () => {
    bad(() => metaCrossEntropy(logits3(), t1([0, 1, 2], 'int32'), 2), 'logits', 'SHAPE_MISMATCH');
    bad(() => metaCrossEntropy(logits3(), t1([0, 1, 2], 'int32'), 5), 'logits', 'SHAPE_MISMATCH');
    bad(() => metaCrossEntropy(logits3(), t1([0, 1, 3], 'int32'), 3), 'labels', 'OUT_OF_RANGE');
    bad(() => metaCrossEntropy(logits3(), t1([0, 1], 'int32'), 3), 'labels', 'SHAPE_MISMATCH');
    bad(() => metaCrossEntropy(logits3(), t1([0, 1, 2], 'int32'), 1), 'c');
    bad(() => metaCrossEntropy(t1([1, 2, 3]), t1([0, 1, 2], 'int32'), 3), 'logits', 'INVALID_RANK');
  });

  it('innerStep: label 7 of 2 classes, options, shapes', () => {
    bad(() => innerStep(params, x(), t1([0, 1, 7], 'int32')), 'y', 'OUT_OF_RANGE');
    bad(() => innerStep(params, x(), t1([0, -1, 1], 'int32')), 'y', 'OUT_OF_RANGE');
    bad(() => innerStep(params, x(), t1([0, 1], 'int32')), 'y', 'SHAPE_MISMATCH');
    bad(() => innerStep(params, x(), t1([0, 1, 1], 'int32'), { algorithm: 'reptile' as never }), 'options.algorithm');
    bad(() => innerStep(params, x(), t1([0, 1, 1], 'int32'), { step_size: 0.1 } as never), 'options.step_size');
    bad(() => innerStep(params, x(), t1([0, 1, 1], 'int32'), { stepSize: -1 }), 'options.stepSize');
    bad(() => innerStep(params, x(), t1([0, 1, 1], 'int32'), { firstOrder: 1 as never }), 'options.firstOrder');
    bad(() => innerStep(params, t2([1, 2, 3, 4, 5, 6], [3, 2]), t1([0, 1, 1], 'int32')), 'x', 'SHAPE_MISMATCH');
    bad(() => innerStep({ body: [] } as never, x(), t1([0, 1, 1], 'int32')), 'params');
  });

  it('labelPropagation', () => {
    const emb = x();
    bad(() => labelPropagation(emb, [0, 1], 2, { K: 3 } as never), 'options.K');
    bad(() => labelPropagation(emb, [0, 1], 2, { selfLoops: 'no' as never }), 'options.selfLoops');
    bad(() => labelPropagation(emb, [0, 1], 2, { alpha: 1.5 }), 'options.alpha');
    bad(() => labelPropagation(emb, [0, 1], 2, { sigma: 'median' as never }), 'options.sigma');
    bad(() => labelPropagation(emb, [0, 1], 2, { sigma: [1, 1] }), 'options.sigma', 'SHAPE_MISMATCH');
    bad(() => labelPropagation(emb, [0, 2], 2), 'supportLabels', 'OUT_OF_RANGE');
    bad(() => labelPropagation(emb, [0, 1, 1, 0], 2), 'supportLabels');
    bad(() => labelPropagation([1, 2, 3] as never, [0], 2), 'embeddings');
    bad(() => labelPropagation(t2([Number.NaN, 0, 0, 1], [2, 2]), [0], 2), 'embeddings', 'NON_FINITE');
  });

  it('adaptivePicking', () => {
    bad(() => adaptivePicking([1, 0, 0, 1], 2, { pic_num: 2 } as never), 'options.pic_num');
    bad(() => adaptivePicking([1, 0, 0, 1], 2, { picNum: 0 }), 'options.picNum');
    bad(() => adaptivePicking([1, 0, 0], 2), 'scores', 'SHAPE_MISMATCH');
    bad(() => adaptivePicking([1, Number.NaN, 0, 1], 2), 'scores', 'NON_FINITE');
    bad(() => adaptivePicking([1, 0, 0, 1], 1), 'numClasses');
  });

  it('gpAdapt', () => {
    const q = x();
    bad(() => gpAdapt(params, x(), [0, 1, 2], q), 'supportY', 'OUT_OF_RANGE');
    bad(() => gpAdapt(params, x(), [0, 0, 0], q), 'supportY', 'INVALID_ARGUMENT');
    bad(() => gpAdapt(params, x(), [0, 1], q), 'supportY', 'SHAPE_MISMATCH');
    bad(() => gpAdapt(params, x(), [0, 1, 1], q, { picnum: 3 } as never), 'options.picnum');
    bad(() => gpAdapt(params, x(), [0, 1, 1], q, { algorithm: 'MAML' as never }), 'options.algorithm');
    bad(() => gpAdapt(params, x(), [0, 1, 1], q, { selfLoops: 0 as never }), 'options.selfLoops');
  });

  it('gaussJordanSolve', () => {
    bad(() => gaussJordanSolve(new Float64Array(3), new Float64Array(2), 2, 1), 'A', 'SHAPE_MISMATCH');
    bad(() => gaussJordanSolve(new Float64Array(4), new Float64Array(3), 2, 1), 'B', 'SHAPE_MISMATCH');
    bad(() => gaussJordanSolve(new Float64Array(4), new Float64Array(2), 2, 1), 'A');
    bad(() => gaussJordanSolve(new Float64Array(4), new Float64Array(2), 0, 1), 'm');
  });

  it('fewShotEpisode (@distillery/data): no rng, typos, impossible sizes', () => {
    const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];
    bad(() => fewShotEpisode(labels, { nWay: 2, kShot: 1, qQuery: 1 } as never), 'options.rng');
    bad(() => fewShotEpisode(labels, { nWay: 2, kShot: 1, qQuery: 1, rng: 3 as never }), 'options.rng');
    bad(
      () => fewShotEpisode(labels, { nWay: 2, kShot: 1, qQueries: 1, rng: createRng(0) } as never),
      'options.qQueries',
    );
    bad(() => fewShotEpisode(labels, undefined as never), 'options');
    bad(() => fewShotEpisode(labels, { nWay: 4, kShot: 1, qQuery: 1, rng: createRng(0) }), 'options.nWay');
    bad(() => fewShotEpisode([0, -1], { nWay: 1, kShot: 1, qQuery: 0, rng: createRng(0) }), 'labels[1]');
    bad(() => fewShotEpisode(null as never, { nWay: 1, kShot: 1, qQuery: 0, rng: createRng(0) }), 'labels');
  });
});

describe('robustness: SCPNet', () => {
  const sim = () => t2([1, 0.5, 0.2, 0.5, 1, 0.3, 0.2, 0.3, 1], [3, 3]);
  const given = () => t2([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]);

  it('scpnetLabelPrior', () => {
    bad(
      () => scpnetLabelPrior(sim(), { sparseTopk: 2, temperature: 0.3, reweight_p: 0.2 } as never),
      'options.reweight_p',
    );
    bad(() => scpnetLabelPrior(sim(), { sparseTopk: 4, temperature: 0.3 }), 'options.sparseTopk');
    bad(() => scpnetLabelPrior(sim(), { sparseTopk: 2, temperature: 0 }), 'options.temperature');
    bad(() => scpnetLabelPrior(sim(), { sparseTopk: 2, temperature: 0.3, reweightP: 2 }), 'options.reweightP');
    bad(() => scpnetLabelPrior(sim(), undefined as never), 'options');
    bad(() => scpnetLabelPrior(t2([1, 2, 3, 4, 5, 6], [2, 3]), { sparseTopk: 2, temperature: 0.3 }), 'similarity');
  });

  it('scpnetClasswiseAcc', () => {
    bad(() => scpnetClasswiseAcc([1, 2], { hardK: 1, numTrain: 4, prev: [0.5, 0.5] } as never), 'options.prev');
    bad(() => scpnetClasswiseAcc([1, 2], { hardK: 0, numTrain: 4 }), 'options.hardK');
    bad(() => scpnetClasswiseAcc([1, 2], { hardK: 1 } as never), 'options.numTrain');
    bad(() => scpnetClasswiseAcc([0, 0], { hardK: 1, numTrain: 4, previous: [0.5] }), 'options.previous');
    bad(() => scpnetClasswiseAcc([0, 0], { hardK: 1, numTrain: 4, previous: [0.5, 3] }), 'options.previous[1]');
    bad(() => scpnetClasswiseAcc([1, -2], { hardK: 1, numTrain: 4 }), 'counts[1]');
  });

  it('scpnetPseudoLabels', () => {
    const acc = [1 / 3, 1 / 3, 1 / 3];
    bad(() => scpnetPseudoLabels(logits3(), given(), acc, { hardK: 1, p_cutoff: 0.9 } as never), 'options.p_cutoff');
    bad(() => scpnetPseudoLabels(logits3(), given(), acc, { hardK: 4 }), 'options.hardK');
    bad(() => scpnetPseudoLabels(logits3(), given(), acc, { hardK: 1, pCutoff: 1.2 }), 'options.pCutoff');
    bad(() => scpnetPseudoLabels(logits3(), given(), [0.5, 0.5], { hardK: 1 }), 'classwiseAcc');
    bad(() => scpnetPseudoLabels(logits3(), given(), [0.5, 1.5, 0.5], { hardK: 1 }), 'classwiseAcc[1]');
    bad(() => scpnetPseudoLabels(logits3(), t2([2, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]), acc, { hardK: 1 }), 'givenLabels');
    bad(() => scpnetPseudoLabels(logits3(), given(), acc, undefined as never), 'options');
  });

  const mask = () => t1([1, 0, 1]);
  const targets = () => t2([0.5, 0.2, 0.3, 0.1, 0.1, 0.8, 0, 0, 1], [3, 3]);

  it('scpnetConsistencyLoss', () => {
    bad(
      () => scpnetConsistencyLoss(logits3(), given(), mask(), targets(), { kl_lambda: 1 } as never),
      'options.kl_lambda',
    );
    bad(() => scpnetConsistencyLoss(logits3(), given(), mask(), targets(), { klLambda: -1 }), 'options.klLambda');
    bad(() => scpnetConsistencyLoss(logits3(), given(), mask(), targets(), undefined as never), 'options');
    bad(() => scpnetConsistencyLoss(logits3(), given(), t1([1, 2, 0]), targets(), { klLambda: 1 }), 'mask');
    bad(
      () =>
        scpnetConsistencyLoss(logits3(), t2([0, 3, 0, 0, 1, 0, 0, 0, 1], [3, 3]), mask(), targets(), { klLambda: 1 }),
      'labels',
    );
    bad(() => scpnetConsistencyLoss(logits3(), given(), mask(), t2([1, 2, 3, 4], [2, 2]), { klLambda: 1 }), 'targets');
  });

  it('scpnetPriorTargets', () => {
    bad(() => scpnetPriorTargets(logits3(), t2([1, 2, 3, 4], [2, 2])), 'relation');
    bad(() => scpnetPriorTargets(t1([1, 2, 3]), sim()), 'weakLogits');
    bad(() => scpnetPriorTargets(logits3(), t2([1, 0, 0, 0, 1, 0, 0, 0, -1], [3, 3])), 'relation');
  });

  it('ScpnetLabelMemory', () => {
    bad(() => new ScpnetLabelMemory(4, 3, { hardk: 2 } as never), 'options.hardk');
    bad(() => new ScpnetLabelMemory(4, 3, { hardK: 4 }), 'options.hardK');
    bad(() => new ScpnetLabelMemory(0, 3, { hardK: 1 }), 'numTrain');
    const memory = new ScpnetLabelMemory(4, 3, { hardK: 1 });
    bad(() => memory.update([0, 4], [1, 0, 0, 0, 1, 0]), 'indices', 'OUT_OF_RANGE');
    bad(() => memory.update([0, 1], [1, 0, 0]), 'labels', 'SHAPE_MISMATCH');
    bad(() => memory.update([0], [1, 0, 2]), 'labels');
    bad(() => memory.update([], []), 'indices');
  });

  const e = () => t2([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]);

  it('createScpnetGcn', () => {
    bad(() => createScpnetGcn(4, { hiden: 8 } as never), 'options.hiden');
    bad(() => createScpnetGcn(0), 'embedDim');
    bad(() => createScpnetGcn(4, { hidden: 0 }), 'options.hidden');
    bad(() => createScpnetGcn(4, { seed: 0.5 }), 'options.seed');
    bad(() => createScpnetGcn(4, 8 as never), 'options');
  });

  it('scpnetGcnClassifier', () => {
    const w = createScpnetGcn(3);
    created.push(...w);
    bad(() => scpnetGcnClassifier(w, e(), t2([1, 0, 0, 1], [2, 2])), 'adjacency', 'SHAPE_MISMATCH');
    bad(() => scpnetGcnClassifier(w.slice(0, 2), e(), sim()), 'weights');
    bad(() => scpnetGcnClassifier([w[0]!, w[0]!, w[2]!], e(), sim()), 'weights[1]', 'SHAPE_MISMATCH');
    bad(() => scpnetGcnClassifier(w, t2([1, 0, 0, 1], [2, 2]), sim()), 'adjacency', 'SHAPE_MISMATCH');
    bad(() => scpnetGcnClassifier(w, e(), t2([1, Number.NaN, 0, 0, 1, 0, 0, 0, 1], [3, 3])), 'adjacency');
  });

  it('scpnetLogits', () => {
    bad(() => scpnetLogits(logits3(), e(), { temperature: 1 } as never), 'options.temperature');
    bad(() => scpnetLogits(logits3(), e(), { scale: 0 }), 'options.scale');
    bad(() => scpnetLogits(logits3(), t2([1, 0, 0, 1], [2, 2])), 'classifier', 'SHAPE_MISMATCH');
  });
});

describe('robustness: counts', () => {
  it('every public function with options or labels is covered', () => {
    // 19 public functions/classes of the package with options or labels + fewShotEpisode of @distillery/data
    expect(tried).toBeGreaterThanOrEqual(100);
    console.info(`pseudo-labels robustness: ${tried} bad inputs, all DistilleryErrors naming the argument`);
  });
});
