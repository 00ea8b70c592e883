// The bad inputs of the reliability sweep for @distillery/train: one `it` per public function, each bad input a
// DistilleryError naming the argument. Add the new bad inputs here whenever a public option is added.
import { Rng, tf } from '@distillery/tensor';
import { expectDistilleryError, expectDistilleryErrorAsync } from '@distillery/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import * as train from '../src/index';
import {
  AdamW,
  accuracy,
  adjustedRandIndex,
  averagePrecision,
  balancedAccuracy,
  clipGradNorm,
  clipGradNormOnDevice,
  clusteringAccuracy,
  cohenKappa,
  confusionMatrix,
  constantLR,
  cosineAnnealingLR,
  decodeCheckpoint,
  distill,
  EMA,
  encodeCheckpoint,
  encodeCheckpointAsync,
  f1Score,
  fewShotAccuracy,
  fit,
  globalNorm,
  globalNormTensor,
  groupAccuracy,
  linearLR,
  linearSumAssignment,
  loadCheckpoint,
  loadTeacher,
  meanAveragePrecision,
  multiStepLR,
  normalizedMutualInfo,
  oneCycleLR,
  ProgressReporter,
  perClassAccuracy,
  perEpoch,
  predictClasses,
  predictClassesAsync,
  restoreCheckpoint,
  SAM,
  SGD,
  saveCheckpoint,
  sequentialLR,
  stepLR,
  TeacherLogitCache,
  teacherAdapter,
  timmNoWeightDecay,
  topKAccuracy,
  train as trainModel,
  warmupCosineLR,
} from '../src/index';
import { blobs, student } from './distill-setup';
import { makeSetup } from './loop-setup';

const covered = new Set<string>();
let tried = 0;

/** `fn` throws a DistilleryError whose argument is `argument` (a string, or a pattern) and whose message matches. */
function bad(name: string, fn: () => unknown, argument: string | RegExp, message?: RegExp): void {
  covered.add(name);
  tried++;
  expectDistilleryError(fn, argument, { message });
}

async function badAsync(name: string, fn: () => Promise<unknown>, argument: string | RegExp, message?: RegExp) {
  covered.add(name);
  tried++;
  await expectDistilleryErrorAsync(fn, argument, { message });
}

let uid = 0;
const variables = () => {
  const id = uid++;
  return [tf.variable(tf.ones([3, 2]), true, `rob_w_${id}`), tf.variable(tf.zeros([2]), true, `rob_b_${id}`)];
};
const gradsOf = (ps: tf.Variable[]) => Object.fromEntries(ps.map((p) => [p.name, tf.onesLike(p)]));

afterAll(() => {
  const exported = Object.entries(train)
    .filter(([, v]) => typeof v === 'function')
    .map(([k]) => k);
  const missing = exported.filter((k) => !covered.has(k));
  console.log(`train robustness: ${covered.size} public functions covered, ${tried} bad inputs tried`);
  expect(missing, 'public functions of @distillery/train without a robustness case').toEqual([]);
});

describe('@distillery/train robustness', () => {
  it('SGD', () => {
    const ps = variables();
    bad('SGD', () => new SGD(ps, { lr: 0.1, weight_decay: 0.05 } as never), 'options.weight_decay', /weightDecay/);
    bad('SGD', () => new SGD(ps, { lr: 0.1, nesterov: 'yes' } as never), 'options.nesterov');
    bad('SGD', () => new SGD(ps, undefined as never), 'options.lr');
    bad('SGD', () => new SGD(ps, { lr: -1 }), 'options.lr', /OUT_OF_RANGE|>= 0/);
    bad('SGD', () => new SGD(ps, { lr: 0.1, momentum: Number.NaN }), 'options.momentum');
    bad('SGD', () => new SGD(ps, { lr: 0.1, nesterov: true }), 'options.nesterov');
    bad('SGD', () => new SGD([], { lr: 0.1 }), 'params');
    bad('SGD', () => new SGD([tf.zeros([2]) as never], { lr: 0.1 }), 'params[0]');
    bad('SGD', () => new SGD(ps, { lr: 0.1, noWeightDecay: true as never }), 'options.noWeightDecay');
    const sgd = new SGD(ps, { lr: 0.1 });
    bad('SGD', () => sgd.step(null as never), 'grads');
    bad('SGD', () => sgd.step({ [ps[0]!.name]: [1, 2] } as never), `grads["${ps[0]!.name}"]`);
    const wrong = { [ps[0]!.name]: tf.ones([2, 3]) };
    bad('SGD', () => sgd.step(wrong), `grads["${ps[0]!.name}"]`, /SHAPE|\[3,2\]/);
    bad('SGD', () => sgd.setState({ ...sgd.getState(), type: 'adamw' }), 'state.type');
    bad('SGD', () => sgd.setState({ ...sgd.getState(), step: -2 }), 'state.step');
    sgd.lr = Number.NaN;
    const g = gradsOf(ps);
    bad('SGD', () => sgd.step(g), 'optimizer.lr');
    tf.dispose([...Object.values(g), ...Object.values(wrong), ...ps]);
    sgd.dispose();
  });

  it('AdamW', () => {
    const ps = variables();
    bad('AdamW', () => new AdamW(ps, { weight_decay: 0.05 } as never), 'options.weight_decay', /weightDecay/);
    bad('AdamW', () => new AdamW(ps, { amsgrad: 1 } as never), 'options.amsgrad');
    bad('AdamW', () => new AdamW(ps, { betas: [0.9] as never }), 'options.betas');
    bad('AdamW', () => new AdamW(ps, { betas: [1, 0.999] }), 'options.betas[0]');
    bad('AdamW', () => new AdamW(ps, { eps: -1 }), 'options.eps');
    bad('AdamW', () => new AdamW(ps, 'fast' as never), 'options');
    const adam = new AdamW(ps);
    const g = gradsOf(ps);
    adam.step(g);
    const state = adam.getState();
    const slot = Object.keys(state.slots)[0]!;
    bad(
      'AdamW',
      () => adam.setState({ ...state, slots: { [slot]: { nope: { shape: [1], values: [0] } } } }),
      `state.slots.${slot}`,
    );
    bad('AdamW', () => adam.setState({ ...state, lr: Number.NaN }), 'state.lr');
    tf.dispose([...Object.values(g), ...ps]);
    adam.dispose();
  });

  it('SAM', () => {
    const ps = variables();
    const base = new SGD(ps, { lr: 0.1 });
    bad('SAM', () => new SAM(base, { radius: 0.05 } as never), 'options.radius');
    bad('SAM', () => new SAM(base, { adaptive: 'yes' } as never), 'options.adaptive');
    bad('SAM', () => new SAM(base, { rho: -0.1 }), 'options.rho');
    bad('SAM', () => new SAM(base, { rng: {} as never }), 'options.rng');
    bad('SAM', () => new SAM(base, { buffers: {} as never }), 'options.buffers');
    bad('SAM', () => new SAM(base, { clip: 5 as never }), 'options.clip');
    bad('SAM', () => new SAM({} as never), 'base');
    const sam = new SAM(base);
    bad('SAM', () => sam.step(() => tf.scalar(1)), 'loss', /does not depend/);
    bad('SAM', () => sam.step(() => tf.mul(ps[0]!, 2) as never), 'loss', /scalar/);
    tf.dispose(ps);
    base.dispose();
  });

  it('EMA', () => {
    const ps = variables();
    bad('EMA', () => new EMA(ps, { decay: 0.9, warmup: true } as never), 'options.warmup');
    bad('EMA', () => new EMA(ps, { decay: 1.5 }), 'options.decay');
    bad('EMA', () => new EMA([], {}), 'params');
    bad('EMA', () => new EMA([tf.ones([1]) as never]), 'params[0]');
    const ema = new EMA(ps);
    bad('EMA', () => ema.setState({ updates: 0, weights: {} }), `state.weights.${ps[0]!.name}`);
    ema.dispose();
    tf.dispose(ps);
  });

  it('timmNoWeightDecay', () => {
    bad('timmNoWeightDecay', () => timmNoWeightDecay(undefined as never), 'param');
    bad('timmNoWeightDecay', () => timmNoWeightDecay({ rank: 1 } as never), 'param');
  });

  it('clipGradNorm, clipGradNormOnDevice, globalNorm, globalNormTensor', () => {
    const ps = variables();
    const g = gradsOf(ps);
    bad('clipGradNorm', () => clipGradNorm(g, 0), 'maxNorm');
    bad('clipGradNorm', () => clipGradNorm(g, Number.NaN), 'maxNorm');
    bad('clipGradNorm', () => clipGradNorm(null as never, 1), 'grads');
    bad('clipGradNormOnDevice', () => clipGradNormOnDevice(g, -1), 'maxNorm');
    bad('clipGradNormOnDevice', () => clipGradNormOnDevice({ a: 3 } as never, 1), 'grads["a"]');
    bad('globalNorm', () => globalNorm(undefined as never), 'grads');
    bad('globalNorm', () => globalNorm([tf.ones([1])] as never), 'grads');
    bad('globalNormTensor', () => globalNormTensor({ a: 'x' } as never), 'grads["a"]');
    tf.dispose([...Object.values(g), ...ps]);
  });

  it('LR schedules', () => {
    bad('constantLR', () => constantLR(Number.NaN), 'lr');
    bad('constantLR', () => constantLR(0.1)(-1), 't');
    bad('stepLR', () => stepLR(0.1, { step_size: 2 } as never), 'options.step_size', /stepSize/);
    bad('stepLR', () => stepLR(0.1, undefined as never), 'options');
    bad('stepLR', () => stepLR(0.1, { stepSize: 0 }), 'options.stepSize');
    bad('multiStepLR', () => multiStepLR(0.1, { milestones: [2], gama: 0.5 } as never), 'options.gama');
    bad('multiStepLR', () => multiStepLR(0.1, { milestones: 3 } as never), 'options.milestones');
    bad('multiStepLR', () => multiStepLR(0.1, { milestones: [1.5] }), 'options.milestones[0]');
    bad('cosineAnnealingLR', () => cosineAnnealingLR(0.1, { T_max: 10 } as never), 'options.T_max', /tMax/);
    bad('cosineAnnealingLR', () => cosineAnnealingLR(0.1, { tMax: 0 }), 'options.tMax');
    bad('cosineAnnealingLR', () => cosineAnnealingLR(-0.1, { tMax: 5 }), 'lr');
    bad('linearLR', () => linearLR(0.1, { start_factor: 0.1 } as never), 'options.start_factor');
    bad('linearLR', () => linearLR(0.1, { startFactor: 0 }), 'options.startFactor');
    bad(
      'oneCycleLR',
      () => oneCycleLR(0.1, { totalSteps: 10, annealStrategy: 'cosine' as never }),
      'options.annealStrategy',
      /"cos"/,
    );
    bad('oneCycleLR', () => oneCycleLR(0.1, { totalSteps: 10, three_phase: true } as never), 'options.three_phase');
    bad('oneCycleLR', () => oneCycleLR(0.1, { totalSteps: 1 }), 'options.totalSteps');
    bad('oneCycleLR', () => oneCycleLR(0.1, { totalSteps: 10 })(11), 't');
    bad('sequentialLR', () => sequentialLR([], []), 'schedules');
    bad('sequentialLR', () => sequentialLR([constantLR(1), 0.5 as never], [2]), 'schedules[1]');
    bad('sequentialLR', () => sequentialLR([constantLR(1), constantLR(2)], []), 'milestones');
    bad('sequentialLR', () => sequentialLR([constantLR(1), constantLR(2), constantLR(3)], [4, 2]), 'milestones[1]');
    bad(
      'warmupCosineLR',
      () => warmupCosineLR(0.1, { totalSteps: 10, warmup: 2 } as never),
      'options.warmup',
      /warmupSteps/,
    );
    bad('warmupCosineLR', () => warmupCosineLR(0.1, { totalSteps: Number.NaN }), 'options.totalSteps');
    bad('warmupCosineLR', () => warmupCosineLR(0.1, undefined as never), 'options');
    bad('perEpoch', () => perEpoch(constantLR(1), 0), 'stepsPerEpoch');
    bad('perEpoch', () => perEpoch('cosine' as never, 10), 'schedule');
  });

  it('fit', async () => {
    const s = makeSetup();
    const base = { ...s, batchSize: 32, epochs: 1, progress: 'none' as const };
    const before = Array.from(s.params[0]!.dataSync());
    await badAsync('fit', () => fit({ ...base, checkpiont: '/tmp/x' } as never), 'options.checkpiont', /checkpoint/);
    await badAsync('fit', () => fit({ ...base, scheduleUnit: 'epochs' as never }), 'options.scheduleUnit', /"epoch"/);
    await badAsync('fit', () => fit({ ...base, progress: 'fancy' as never }), 'options.progress', /"bar"/);
    await badAsync('fit', () => fit({ ...base, resume: true }), 'options.resume');
    await badAsync('fit', () => fit({ ...base, optimizer: undefined as never }), 'options.optimizer');
    await badAsync('fit', () => fit({ ...base, params: [] }), 'options.params');
    await badAsync('fit', () => fit({ ...base, params: [s.params[0]!] }), 'options.optimizer', /not among/);
    await badAsync('fit', () => fit(undefined as never), 'options.loss');
    await badAsync('fit', () => fit({ ...base, loss: () => tf.ones([4]) as never }), 'options.loss', /scalar/);
    await badAsync('fit', () => fit({ ...base, loss: () => tf.scalar(1) }), 'options.loss', /does not depend/);
    await badAsync('fit', () => fit({ ...base, loss: (async () => tf.scalar(1)) as never }), 'options.loss', /Promise/);
    await badAsync(
      'fit',
      () => fit({ ...base, samRho: 0.05, loss: () => tf.scalar(1) }),
      'options.loss',
      /does not depend/,
    );
    await badAsync(
      'fit',
      () => fit({ ...base, schedule: () => Number.NaN }),
      'options.schedule',
      /learning rate.*got NaN at epoch 0/,
    );
    await badAsync('fit', () => fit({ ...base, schedule: () => -1 }), 'options.schedule');
    await badAsync('fit', () => fit({ ...base, schedule: 0.1 as never }), 'options.schedule');
    await badAsync('fit', () => fit({ ...base, evaluate: {} as never }), 'options.evaluate');
    await badAsync('fit', () => fit({ ...base, checkpoint: 3 as never }), 'options.checkpoint');
    await badAsync('fit', () => fit({ ...base, clipGradNorm: 0 }), 'options.clipGradNorm');
    await badAsync('fit', () => fit({ ...base, samRho: -1 }), 'options.samRho');
    await badAsync('fit', () => fit({ ...base, ema: {} as never }), 'options.ema');
    await badAsync('fit', () => fit({ ...base, buffers: [] as never }), 'options.buffers');
    await badAsync('fit', () => fit({ ...base, batchSize: 0 }), 'options.batchSize');
    await badAsync('fit', () => fit({ ...base, sampler: undefined as never }), 'options.sampler');
    await badAsync('fit', () => fit({ ...base, data: [] as never }), 'options.data');
    await badAsync('fit', () => fit({ ...base, dropLast: 'yes' as never }), 'options.dropLast');
    await badAsync('fit', () => fit({ ...base, seed: 0.5 }), 'options.seed');
    await badAsync(
      'fit',
      () => fit({ ...base, loss: (b, ctx) => tf.mul(s.loss(b as never, ctx), Number.NaN) }),
      'loss',
      /no update/,
    );
    expect(Array.from(s.params[0]!.dataSync())).toEqual(before);
    s.dispose();
  });

  it('predictClasses and predictClassesAsync', async () => {
    const data = { length: 4, batch: (idx: ArrayLike<number>) => ({ images: tf.ones([idx.length, 3]) }) };
    const logits = (x: tf.Tensor) => tf.matMul(x, tf.ones([3, 2]));
    bad('predictClasses', () => predictClasses(data, (x) => tf.sum(x, 1)), 'forward', /\[4, C\].*shape \[4\]/);
    bad('predictClasses', () => predictClasses(data, (x) => tf.ones([x.shape[0]! + 1, 2])), 'forward');
    bad('predictClasses', () => predictClasses(data, logits, { batch_size: 2 } as never), 'options.batch_size');
    bad('predictClasses', () => predictClasses(data, logits, { batchSize: 0 }), 'options.batchSize');
    bad('predictClasses', () => predictClasses({} as never, logits), 'dataset');
    bad('predictClasses', () => predictClasses(data, 'model' as never), 'forward');
    await badAsync('predictClassesAsync', () => predictClassesAsync(data, (x) => tf.sum(x, 1)), 'forward');
    await badAsync(
      'predictClassesAsync',
      () => predictClassesAsync(data, logits, { size: 2 } as never),
      'options.size',
    );
  });

  it('ProgressReporter', () => {
    bad('ProgressReporter', () => new ProgressReporter('fancy' as never, 3), 'mode', /"lines"/);
    bad('ProgressReporter', () => new ProgressReporter('bar', -1), 'epochs');
  });

  it('checkpoints: encode, decode, restore, save, load', async () => {
    const ps = variables();
    const optimizer = new SGD(ps, { lr: 0.1, momentum: 0.9 });
    bad(
      'encodeCheckpoint',
      () => encodeCheckpoint({ params: ps, epoch: 0, step: 0, epochs: 3 } as never),
      'parts.epochs',
    );
    bad('encodeCheckpoint', () => encodeCheckpoint({ params: ps, epoch: 'abc', step: 0 } as never), 'parts.epoch');
    bad('encodeCheckpoint', () => encodeCheckpoint({ params: [], epoch: 0, step: 0 }), 'parts.params');
    bad('encodeCheckpoint', () => encodeCheckpoint(undefined as never), 'parts');
    await badAsync(
      'encodeCheckpointAsync',
      () => encodeCheckpointAsync({ params: ps, epoch: 0, step: -1 }),
      'parts.step',
    );
    await badAsync(
      'encodeCheckpointAsync',
      () => encodeCheckpointAsync({ params: ps, epoch: 0, step: 0, optimizer: {} as never }),
      'parts.optimizer',
    );
    const bytes = encodeCheckpoint({ params: ps, optimizer, epoch: 1, step: 2, rng: new Rng(1) });
    bad('decodeCheckpoint', () => decodeCheckpoint(new Uint8Array(3)), /checkpoint/);
    bad('decodeCheckpoint', () => decodeCheckpoint(bytes.slice(0, bytes.length - 4)), /checkpoint/);
    const decoded = decodeCheckpoint(bytes);
    const other = [tf.variable(tf.ones([2, 2]), true, `rob_other_${uid++}`), ps[1]!];
    bad('restoreCheckpoint', () => restoreCheckpoint(decoded, { params: other }), /param 0/, /SHAPE|shape/);
    bad(
      'restoreCheckpoint',
      () => restoreCheckpoint(decoded, { params: ps, optimiser: optimizer } as never),
      'target.optimiser',
    );
    bad('restoreCheckpoint', () => restoreCheckpoint(decoded, { params: ps, optimizer: new AdamW(ps) }), /optimizer/);
    bad('restoreCheckpoint', () => restoreCheckpoint({} as never, { params: ps }), 'checkpoint');
    bad('restoreCheckpoint', () => restoreCheckpoint(decoded, undefined as never), 'target');
    await badAsync('saveCheckpoint', () => saveCheckpoint('', { params: ps, epoch: 0, step: 0 }), 'path');
    await badAsync(
      'saveCheckpoint',
      () => saveCheckpoint('/dev/null/x/ckpt', { params: ps, epoch: 0, step: 0 }),
      /ckpt/,
    );
    await badAsync(
      'saveCheckpoint',
      () => saveCheckpoint('/tmp/x.ckpt', { params: ps, epoch: 0, step: 0, rng: 3 } as never),
      'parts.rng',
    );
    await badAsync('loadCheckpoint', () => loadCheckpoint('/nonexistent/dir/ckpt.safetensors'), /ckpt\.safetensors/);
    await badAsync('loadCheckpoint', () => loadCheckpoint(undefined as never), 'path');
    tf.dispose([...ps, other[0]!]);
    optimizer.dispose();
  });

  it('classification metrics', () => {
    const nan = [[Number.NaN, Number.NaN]];
    bad('accuracy', () => accuracy([0, 1], [0]), 'yPred');
    bad('accuracy', () => accuracy([], []), 'yTrue');
    bad('accuracy', () => accuracy([0, 1.5], [0, 1]), 'yTrue[1]');
    bad('topKAccuracy', () => topKAccuracy(nan, [0], 1), 'scores[0][0]', /finite/);
    bad('topKAccuracy', () => topKAccuracy([[1, 2]], [2], 1), 'yTrue[0]');
    bad('topKAccuracy', () => topKAccuracy([[1, 2]], [0], 0), 'k');
    bad('topKAccuracy', () => topKAccuracy(tf.ones([3]), [0], 1), 'scores');
    bad('averagePrecision', () => averagePrecision([1, 0], [Number.NaN, Number.NaN]), 'scores[0]');
    bad('averagePrecision', () => averagePrecision([1, 2], [0.1, 0.2]), 'targets[1]');
    bad('averagePrecision', () => averagePrecision([1], [0.1, 0.2]), 'scores');
    bad('averagePrecision', () => averagePrecision([], []), 'targets');
    bad('meanAveragePrecision', () => meanAveragePrecision([[1, 0]], nan), 'scores[0][0]');
    bad('meanAveragePrecision', () => meanAveragePrecision([[0, 0]], [[0.1, 0.2]]), 'targets');
    bad('meanAveragePrecision', () => meanAveragePrecision([[1, 0]], [[0.1, 0.2, 0.3]]), 'scores');
    bad('confusionMatrix', () => confusionMatrix([0, 4e9], [0, 1]), 'yTrue[1]');
    bad('confusionMatrix', () => confusionMatrix([0, 3], [0, 1], 2), 'yTrue[1]');
    bad('confusionMatrix', () => confusionMatrix([0], [0], 0), 'numClasses');
    bad('confusionMatrix', () => confusionMatrix([0], [-1]), 'yPred[0]');
    bad('perClassAccuracy', () => perClassAccuracy([0], [2 ** 40]), 'yPred[0]');
    bad('perClassAccuracy', () => perClassAccuracy([0, 1], [0, 1], 1.5), 'numClasses');
    bad('balancedAccuracy', () => balancedAccuracy([0, Number.NaN], [0, 1]), 'yTrue[1]');
    bad('balancedAccuracy', () => balancedAccuracy([0, 1e7], [0, 1]), 'yTrue[1]');
    bad('groupAccuracy', () => groupAccuracy([0, 1], [0, 1], { head: [5] }), 'groups.head[0]');
    bad('groupAccuracy', () => groupAccuracy([0, 1e9], [0, 1], { head: [0] }), 'yTrue[1]');
    bad('f1Score', () => f1Score([0, 1], [0, 1], { avg: 'macro' } as never), 'options.avg', /average/);
    bad('f1Score', () => f1Score([0, 1], [0, 1], { average: 'binary' as never }), 'options.average');
    bad('f1Score', () => f1Score([0, 1], [0, 1], { zeroDivision: 2 }), 'options.zeroDivision');
    bad('f1Score', () => f1Score([0, 1e9], [0, 1]), 'yTrue[1]');
    bad('fewShotAccuracy', () => fewShotAccuracy([0.5, 0.6], { dof: 1 } as never), 'options.dof');
    bad('fewShotAccuracy', () => fewShotAccuracy([], {}), 'episodeAccuracies');
    bad('fewShotAccuracy', () => fewShotAccuracy([0.5, Number.NaN]), 'episodeAccuracies[1]');
    bad('fewShotAccuracy', () => fewShotAccuracy([0.5], { ddof: 1 }), 'options.ddof');
    bad('cohenKappa', () => cohenKappa([0, 1], [0, 1, 1]), 'yPred');
    bad('cohenKappa', () => cohenKappa([0, 2 ** 33], [0, 1]), 'yTrue[1]');
  });

  it('clustering metrics', () => {
    bad('clusteringAccuracy', () => clusteringAccuracy([0, 1], [0, 1e8]), 'yPred[1]');
    bad('clusteringAccuracy', () => clusteringAccuracy([0, 2], [0, 1], 2), 'yTrue[1]');
    bad('clusteringAccuracy', () => clusteringAccuracy([0], [0, 1]), 'yPred');
    bad('normalizedMutualInfo', () => normalizedMutualInfo([], []), 'yTrue');
    bad('normalizedMutualInfo', () => normalizedMutualInfo([0, -1], [0, 1]), 'yTrue[1]');
    bad('adjustedRandIndex', () => adjustedRandIndex([0, 1], [0]), 'yPred');
    bad('adjustedRandIndex', () => adjustedRandIndex([0, 0.5], [0, 1]), 'yTrue[1]');
    bad('linearSumAssignment', () => linearSumAssignment([]), 'cost');
    bad('linearSumAssignment', () => linearSumAssignment([[1, 2], [3]]), 'cost[1]');
    bad('linearSumAssignment', () => linearSumAssignment([[1, Number.NaN]]), 'cost[0][1]');
  });

  it('distill, train, teacherAdapter, TeacherLogitCache', async () => {
    const data = blobs(12);
    const s = student(1);
    const fn = (x: tf.Tensor4D) => tf.zeros([x.shape[0], 3]);
    const opts = { train: data, epochs: 1, batchSize: 4, progress: 'none' as const };
    await badAsync('distill', () => distill(undefined as never), 'options');
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: 'kdd' as never }),
      'options.loss',
      /kd.*dkd.*nkd.*clkd.*deit-lt.*trg.*uskd/,
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: 'kd', lossOptions: { T: 4 } }),
      'options.T',
      /temperature/,
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: (x: tf.Tensor4D) => tf.zeros([x.shape[0], 7]), student: s, loss: 'kd' }),
      'options.teacher',
      /3 classes.*got 7/,
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, train: { ...data, length: 0, labels: () => [] }, teacher: fn, student: s, loss: 'kd' }),
      'options.train',
      /empty/,
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: {} as never, loss: 'kd' }),
      'options.student',
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: 'kd', teacherInput: 'clean' as never }),
      'options.teacherInput',
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: 'deit-lt', cacheTeacher: true }),
      'options.cacheTeacher',
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: 'kd', ceWeight: -1 }),
      'options.ceWeight',
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: (a) => tf.sum(a), lossOptions: {} }),
      'options.lossOptions',
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: 'kd', sampler: 'balanced' as never }),
      'options.sampler',
      /class-balanced/,
    );
    await badAsync(
      'distill',
      () => distill({ ...opts, teacher: fn, student: s, loss: 'kd', augment: () => 3 as never }),
      'options.augment',
    );
    await badAsync('train', () => trainModel(undefined as never), 'options');
    await badAsync(
      'trainModel',
      () => trainModel({ ...opts, model: s, loss: 'ldam' as never }),
      'options.loss',
      /ldam-drw/,
    );
    await badAsync('train', () => trainModel({ ...opts, model: s, loss: 'ce', drwEpoch: 3 }), 'options.drwEpoch');
    await badAsync(
      'trainModel',
      () => trainModel({ ...opts, model: s, loss: 'ldam-drw', lossOptions: { classWeights: [1, 1, 1] } }),
      'options.lossOptions.classWeights',
    );
    await badAsync(
      'trainModel',
      () => trainModel({ ...opts, model: s, loss: 'ce', lossOptions: { smoothing: 0.1 } }),
      'options.smoothing',
      /labelSmoothing/,
    );
    await badAsync(
      'trainModel',
      () => trainModel({ ...opts, train: blobs(12, 0, 4), model: s, loss: 'ce' }),
      'options.model',
      /4 classes.*got 3/,
    );
    await badAsync(
      'trainModel',
      () => trainModel({ ...opts, train: { ...data, length: 0, labels: () => [] }, model: s, loss: 'ce' }),
      'options.train',
    );
    bad('teacherAdapter', () => teacherAdapter(42), 'options.teacher');
    await badAsync('loadTeacher', () => loadTeacher(42 as never), 'source', /model\.json path or URL/);
    await badAsync(
      'loadTeacher',
      () => loadTeacher('/nonexistent/model.json'),
      '/nonexistent/model.json',
      /no such file/,
    );
    await badAsync('loadTeacher', () => loadTeacher('/x/model.json', { fetc: fetch } as never), 'options.fetc');
    bad(
      'teacherAdapter',
      () => teacherAdapter({ predict: () => [tf.zeros([1, 2]), tf.zeros([1, 2])] }).run(tf.zeros([1, 8, 8, 1])),
      'options.teacher',
      /one output/,
    );
    bad(
      'teacherAdapter',
      () => teacherAdapter(() => tf.zeros([2])).run(tf.zeros([2, 8, 8, 1])),
      'options.teacher',
      /\[batch, classes\]/,
    );
    bad(
      'teacherAdapter',
      () => teacherAdapter(() => tf.zeros([2, 3])).run(tf.zeros([2, 8, 8, 1]), true),
      'options.teacher',
      /'trg'/,
    );
    covered.add('TeacherLogitCache');
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/cache-rob-`);
    const cache = new TeacherLogitCache(2, 3, dir);
    cache.hold([0, 1], tf.zeros([2, 3]) as tf.Tensor2D);
    await cache.save();
    await badAsync(
      'TeacherLogitCache',
      () => TeacherLogitCache.open(dir, 5, 3, async () => ({ indices: [], values: new Float32Array(0) })),
      'options.cacheTeacher.dir',
      /2 examples × 3 classes/,
    );
    await badAsync(
      'TeacherLogitCache',
      () => TeacherLogitCache.open(dir, 2, 3, async () => ({ indices: [0], values: new Float32Array([1, 0, 0]) })),
      'options.cacheTeacher.dir',
      /differ/,
    );
    s.dispose();
  });
});
