import type { Sampler } from '@distillery/samplers';
import { checkNumber, checkOptions, describeValue, invalid, type Rng, tf } from '@distillery/tensor';
import type { EMA } from '../optim/ema';
import type { Optimizer } from '../optim/types';
import type { LRSchedule } from '../schedules/schedules';
import type { TrainingBuffers } from './checkpoint';
import type { ProgressMode } from './progress';

/** What the loss function and callbacks see at each step. */
export interface StepContext {
  epoch: number;
  /** Optimizer steps taken before this batch. */
  step: number;
  batchIndex: number;
  batchesPerEpoch: number;
  /** The run's seeded generator (augmentation, dropout, …); its state is checkpointed at each epoch end. */
  rng: Rng;
  lr: number;
}

export interface EpochRecord {
  epoch: number;
  /** Optimizer steps after this epoch. */
  step: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  lr: number;
  seconds: number;
  [metric: string]: number;
}

export interface FitOptions<T> {
  /** Trainable variables (checkpointed by position). */
  params: tf.Variable[];
  /** Training loss of one batch, computed from `params` (called inside tf.variableGrads). */
  loss: (batch: T, ctx: StepContext) => tf.Scalar;
  /** Source of batches: e.g. an ImageDataset of @distillery/data. A batch may come as a Promise (awaited first). */
  data: { batch(indices: Int32Array): T | Promise<T> };
  /** Epoch orders (a pure function of seed and epoch, so resume draws the same batches). */
  sampler: Sampler;
  batchSize: number;
  dropLast?: boolean;
  epochs: number;
  optimizer: Optimizer;
  /**
   * SAM radius ρ: when set, every step is a SAM step around `optimizer`. Both passes see the same batch and the same
   * draws of `ctx.rng`; model state that the loss updates (BatchNorm statistics) must be given as `buffers` to be
   * updated once per step, at the unperturbed weights.
   */
  samRho?: number;
  /** Global-norm gradient clipping. */
  clipGradNorm?: number;
  /**
   * Gradient accumulation (DeiT-LT's --accum-iter): one optimizer step every k batches, with each micro-batch loss
   * divided by k (timm). A shorter last group of an epoch is stepped at the epoch end, still divided by k. Default 1.
   */
  accumulationSteps?: number;
  schedule?: LRSchedule;
  /** Whether the schedule's t counts epochs (default) or optimizer steps. */
  scheduleUnit?: 'epoch' | 'step';
  ema?: EMA;
  /**
   * Model state outside `params` that training changes (BatchNorm running statistics and counters: a
   * @distillery/vit model's `buffers()`): checkpointed and restored with the weights, so a resumed model evaluates
   * like the uninterrupted one.
   */
  buffers?: TrainingBuffers;
  /**
   * Training state kept outside tensors (e.g. a pseudo-label memory updated in the loss): `save()` returns
   * JSON-serialisable data, written into every checkpoint; on resume it is handed back to `restore()` before the
   * first step, so the resumed run continues from the same state as the uninterrupted one.
   */
  state?: { save(): unknown; restore(saved: unknown): void };
  /** Seed of the run's Rng (default 0). */
  seed?: number;
  /** Evaluation after each epoch; its numbers join the epoch record (and the logs). */
  evaluate?: (epoch: number) => Record<string, number> | Promise<Record<string, number>>;
  onBatchEnd?: (info: { loss: number } & StepContext) => void | Promise<void>;
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** Checkpoint file (safetensors), written atomically every `checkpointEvery` epochs (default 1) and at the end. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Resume from `checkpoint` when it exists (default false; needs `checkpoint`). */
  resume?: boolean;
  /** JSON-lines log: one record per epoch, appended. */
  logFile?: string;
  /** 'auto' (default): a bar on a TTY, plain lines otherwise. */
  progress?: ProgressMode;
  /** Frees a batch after its step (default: disposes every tensor among the batch's values). */
  disposeBatch?: (batch: T) => void;
}

/** fit's options once checked, with their defaults filled in. */
export interface CheckedFitOptions<T> {
  /** The options as given (checked). */
  o: FitOptions<T>;
  optimizer: Optimizer;
  epochs: number;
  batchSize: number;
  /** options.checkpointEvery (default 1). */
  every: number;
  unit: 'epoch' | 'step';
  /** options.disposeBatch, or by default: dispose every tensor among the batch's values. */
  dispose: (batch: T) => void;
  /** options.accumulationSteps (default 1). */
  accumulate: number;
  /** options.seed (default 0). */
  seed: number;
}

/** Checks every option of fit (a DistilleryError naming the first bad one) and fills in the defaults. */
export function checkFitOptions<T>(options: FitOptions<T>): CheckedFitOptions<T> {
  const o = checkOptions<FitOptions<T>>(options, {
    params: true,
    loss: true,
    data: true,
    sampler: true,
    batchSize: true,
    dropLast: [true, false],
    epochs: true,
    optimizer: true,
    samRho: true,
    clipGradNorm: true,
    accumulationSteps: true,
    schedule: true,
    scheduleUnit: ['epoch', 'step'],
    ema: true,
    buffers: true,
    state: true,
    seed: true,
    evaluate: true,
    onBatchEnd: true,
    onEpochEnd: true,
    checkpoint: true,
    checkpointEvery: true,
    resume: [true, false],
    logFile: true,
    progress: ['auto', 'bar', 'lines', 'none'],
    disposeBatch: true,
  });
  if (typeof o.loss !== 'function') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.loss',
      'a loss function (batch, ctx) => tf.Scalar',
      describeValue(o.loss),
    );
  }
  if (!Array.isArray(o.params) || o.params.length === 0) {
    throw invalid('EMPTY_INPUT', 'options.params', 'a non-empty array of tf.Variable', describeValue(o.params));
  }
  o.params.forEach((p, i) => {
    if (!(p instanceof tf.Variable))
      throw invalid('INVALID_ARGUMENT', `options.params[${i}]`, 'a tf.Variable', describeValue(p));
  });
  const optimizer = o.optimizer;
  if (
    !optimizer ||
    typeof optimizer.step !== 'function' ||
    typeof optimizer.getState !== 'function' ||
    !Array.isArray(optimizer.params)
  ) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.optimizer',
      'an Optimizer of @distillery/train (e.g. new AdamW(params))',
      describeValue(optimizer),
    );
  }
  // An optimizer over other variables would never get their gradients (and they would not be checkpointed).
  const trained = new Set(o.params);
  const outside = optimizer.params.find((p) => !trained.has(p as tf.Variable));
  if (outside) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.optimizer',
      'an optimizer over (a subset of) options.params',
      `an optimizer of "${outside.name}", which is not among options.params`,
    );
  }
  if (!o.data || typeof o.data.batch !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'options.data', 'an object with batch(indices)', describeValue(o.data));
  }
  if (!o.sampler || typeof o.sampler.indices !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'options.sampler', 'a Sampler', describeValue(o.sampler));
  }
  const epochs = checkNumber(o.epochs, 'options.epochs', { min: 0, integer: true });
  const batchSize = checkNumber(o.batchSize, 'options.batchSize', { min: 1, integer: true });
  // A batch larger than the whole epoch is almost always a configuration error (a wrong subset or sampler): refuse it.
  if (batchSize > o.sampler.length) {
    throw invalid('OUT_OF_RANGE', 'options.batchSize', `at most the epoch size ${o.sampler.length}`, String(batchSize));
  }
  const every = checkNumber(o.checkpointEvery ?? 1, 'options.checkpointEvery', { min: 1, integer: true });
  if (o.state !== undefined && (typeof o.state?.save !== 'function' || typeof o.state?.restore !== 'function')) {
    throw invalid('INVALID_ARGUMENT', 'options.state', '{ save(), restore(saved) }', describeValue(o.state));
  }
  for (const key of ['schedule', 'evaluate', 'onBatchEnd', 'onEpochEnd', 'disposeBatch'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'function') {
      throw invalid('INVALID_ARGUMENT', `options.${key}`, 'a function', describeValue(o[key]));
    }
  }
  for (const key of ['checkpoint', 'logFile'] as const) {
    if (o[key] !== undefined && (typeof o[key] !== 'string' || o[key] === '')) {
      throw invalid('INVALID_ARGUMENT', `options.${key}`, 'a file path', describeValue(o[key]));
    }
  }
  if (o.resume && o.checkpoint === undefined) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.resume',
      'a checkpoint path to resume from (options.checkpoint)',
      'resume: true without options.checkpoint',
    );
  }
  if (o.ema !== undefined && typeof o.ema?.update !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'options.ema', 'an EMA of @distillery/train', describeValue(o.ema));
  }
  if (o.buffers !== undefined && !Array.isArray(o.buffers?.variables)) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.buffers',
      '{ variables: tf.Variable[], counters? }',
      describeValue(o.buffers),
    );
  }
  if (o.samRho !== undefined) checkNumber(o.samRho, 'options.samRho', { min: 0 });
  if (o.clipGradNorm !== undefined) {
    checkNumber(o.clipGradNorm, 'options.clipGradNorm', { min: 0, minExclusive: true });
  }
  const unit = o.scheduleUnit ?? 'epoch';
  const dispose = o.disposeBatch ?? disposeTensors;
  const accumulate = checkNumber(o.accumulationSteps ?? 1, 'options.accumulationSteps', { min: 1, integer: true });
  const seed = checkNumber(o.seed ?? 0, 'options.seed', { integer: true });
  if (o.samRho !== undefined && accumulate > 1) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.accumulationSteps',
      '1 with SAM (two passes per step)',
      String(accumulate),
    );
  }
  return { o, optimizer, epochs, batchSize, every, unit, dispose, accumulate, seed };
}

function disposeTensors(batch: unknown): void {
  if (batch instanceof tf.Tensor) batch.dispose();
  else if (batch && typeof batch === 'object') {
    for (const v of Object.values(batch)) if (v instanceof tf.Tensor) v.dispose();
  }
}
