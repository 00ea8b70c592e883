import {
  classBalancedSampler,
  instanceBalancedSampler,
  progressivelyBalancedSampler,
  type Sampler,
  squareRootSampler,
} from '@distillery/samplers';
import { checkEnum, checkNumber, describeValue, invalid, Rng, type tf } from '@distillery/tensor';
import type { FitOptions } from '../loop/fit-options';
import { predictClassesAsync } from '../loop/predict';
import { accuracy } from '../metrics/classification';
import { AdamW } from '../optim/adamw';
import { timmNoWeightDecay } from '../optim/base';
import type { Optimizer } from '../optim/types';
import { type LRSchedule, warmupCosineLR } from '../schedules/schedules';

/** A labelled image dataset: e.g. an `ImageDataset` of @distillery/data (image folder, CIFAR, IDX, digits). */
export interface LabelledData {
  readonly length: number;
  batch(indices: ArrayLike<number>): { images: tf.Tensor4D; labels: tf.Tensor1D };
  labels(): ArrayLike<number>;
  readonly classNames?: readonly string[];
}

/** Samplers `distill()` and `train()` know by name (seeded by `seed`): instance (shuffle), class-balanced, … */
export const SAMPLERS = ['instance', 'class-balanced', 'square-root', 'progressive'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** An augmentation of a training batch: images → images, drawing from `rng` (seeded per epoch and batch). */
export type Augment = (images: tf.Tensor4D, rng: Rng) => tf.Tensor4D;

/** The fit options that `distill()` and `train()` pass through unchanged. */
export type FitRunOptions = Pick<
  FitOptions<unknown>,
  | 'clipGradNorm'
  | 'accumulationSteps'
  | 'samRho'
  | 'ema'
  | 'dropLast'
  | 'scheduleUnit'
  | 'checkpoint'
  | 'checkpointEvery'
  | 'resume'
  | 'logFile'
  | 'progress'
  | 'onEpochEnd'
  | 'onBatchEnd'
  | 'evaluate'
>;

export const FIT_RUN_SPEC = {
  clipGradNorm: true,
  accumulationSteps: true,
  samRho: true,
  ema: true,
  dropLast: [true, false],
  scheduleUnit: ['epoch', 'step'],
  checkpoint: true,
  checkpointEvery: true,
  resume: [true, false],
  logFile: true,
  progress: ['auto', 'bar', 'lines', 'none'],
  onEpochEnd: true,
  onBatchEnd: true,
  evaluate: true,
} as const;

/** Options shared by `distill()` and `train()`. */
/** The run options distill() and train() hand to fit unchanged (the callbacks and evaluate are wrapped). */
export function passedToFit(o: FitRunOptions) {
  const { clipGradNorm, accumulationSteps, samRho, ema, dropLast, scheduleUnit } = o;
  const { checkpoint, checkpointEvery, resume, logFile, progress } = o;
  return {
    ...{ clipGradNorm, accumulationSteps, samRho, ema, dropLast, scheduleUnit },
    ...{ checkpoint, checkpointEvery, resume, logFile, progress },
  };
}

export interface CommonRunOptions extends FitRunOptions {
  /** Training set (see {@link LabelledData}). */
  train: LabelledData;
  /** Evaluated after every epoch: its top-1 accuracy joins the history as `valAccuracy`. */
  validation?: LabelledData;
  epochs: number;
  batchSize: number;
  /**
   * An Optimizer over the given parameters, or a factory `(params) => Optimizer` (needed when the loss adds
   * trainable heads: USKD's weak head, TRG's projection). Default: AdamW, lr 5e-4·batchSize/512, weight decay 0.05
   * without decay on biases and norms (DeiT's recipe, facebookresearch/deit main.py).
   */
  optimizer?: Optimizer | ((params: tf.Variable[]) => Optimizer);
  /**
   * LR schedule (t in epochs unless scheduleUnit 'step'). Default with the default optimizer: warmupCosineLR to 1e-5
   * with min(5, ⌊epochs/10⌋) warm-up epochs from 1e-6 (DeiT); with a given optimizer: none (its lr is kept).
   */
  schedule?: LRSchedule;
  /** Training-time augmentation of the student's batch; the teacher sees its output unless teacherInput 'original'. */
  augment?: Augment;
  /** A Sampler, or a name: 'instance' (default, shuffled), 'class-balanced', 'square-root', 'progressive'. */
  sampler?: Sampler | SamplerName;
  /** Seeds the sampler, the run's Rng and the augmentation draws. Default 0. */
  seed?: number;
  /** Options of the named loss, checked by the loss itself (unknown keys are rejected). */
  lossOptions?: object;
}

export const COMMON_SPEC = {
  train: true,
  validation: true,
  epochs: true,
  batchSize: true,
  optimizer: true,
  schedule: true,
  augment: true,
  sampler: true,
  seed: true,
  lossOptions: true,
  ...FIT_RUN_SPEC,
} as const;

/** The class count of a dataset: classNames.length when given, otherwise max(label) + 1. */
export function checkData(
  data: unknown,
  argument: string,
): { data: LabelledData; numClasses: number; labels: Int32Array } {
  const d = data as LabelledData;
  if (!d || typeof d !== 'object' || typeof d.batch !== 'function' || typeof d.labels !== 'function') {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      'a labelled dataset (length, batch(indices), labels())',
      describeValue(data),
    );
  }
  const n = checkNumber(d.length, `${argument}.length`, { min: 0, integer: true });
  if (n === 0) throw invalid('EMPTY_INPUT', argument, 'a dataset with at least one example', 'an empty dataset');
  const labels = Int32Array.from(d.labels());
  if (labels.length !== n) {
    throw invalid('INVALID_ARGUMENT', `${argument}.labels()`, `${n} labels (one per example)`, `${labels.length}`);
  }
  let max = -1;
  for (const y of labels) {
    if (!Number.isInteger(y) || y < 0)
      throw invalid('INVALID_ARGUMENT', `${argument}.labels()`, 'class indices >= 0', String(y));
    if (y > max) max = y;
  }
  const numClasses =
    Array.isArray(d.classNames) || ArrayBuffer.isView(d.classNames) || d.classNames ? d.classNames!.length : max + 1;
  if (max >= numClasses) {
    throw invalid(
      'OUT_OF_RANGE',
      `${argument}.labels()`,
      `class indices below ${numClasses} (its classNames)`,
      String(max),
    );
  }
  return { data: d, numClasses, labels };
}

export function makeSampler(
  given: unknown,
  labels: Int32Array,
  numClasses: number,
  seed: number,
  epochs: number,
): Sampler {
  if (given !== undefined && typeof given === 'object' && given !== null) {
    if (typeof (given as Sampler).indices !== 'function') {
      throw invalid(
        'INVALID_ARGUMENT',
        'options.sampler',
        `a Sampler or one of ${SAMPLERS.join(', ')}`,
        describeValue(given),
      );
    }
    return given as Sampler;
  }
  const name = checkEnum(given ?? 'instance', 'options.sampler', SAMPLERS);
  switch (name) {
    case 'instance':
      return instanceBalancedSampler(labels.length, { seed });
    case 'class-balanced':
      return classBalancedSampler(labels, { numClasses, seed });
    case 'square-root':
      return squareRootSampler(labels, { numClasses, seed });
    case 'progressive':
      return progressivelyBalancedSampler(labels, { numClasses, seed, totalEpochs: Math.max(1, epochs) });
  }
}

/** The optimizer (given, built by the factory, or the DeiT default) and its schedule. */
export function makeOptimizer(
  given: unknown,
  params: tf.Variable[],
  schedule: LRSchedule | undefined,
  epochs: number,
  batchSize: number,
): { optimizer: Optimizer; schedule?: LRSchedule } {
  if (typeof given === 'function') return { optimizer: (given as (p: tf.Variable[]) => Optimizer)(params), schedule };
  if (given !== undefined) return { optimizer: given as Optimizer, schedule };
  const lr = (5e-4 * batchSize) / 512;
  const optimizer = new AdamW(params, { lr, weightDecay: 0.05, noWeightDecay: timmNoWeightDecay });
  return {
    optimizer,
    schedule:
      schedule ??
      warmupCosineLR(lr, {
        totalSteps: Math.max(1, epochs),
        warmupSteps: Math.min(5, Math.floor(epochs / 10)),
        warmupLrInit: 1e-6,
        minLr: Math.min(1e-5, lr),
      }),
  };
}

/**
 * Wraps a sampler so that the batch source knows the epoch and the batch number of each batch it builds: fit asks the
 * sampler for an epoch's order, then builds that epoch's batches in order. Augmentations then draw from a generator
 * seeded by (seed, epoch, batch), so a resumed run augments exactly like the uninterrupted one.
 */
export class BatchClock {
  epoch = 0;
  batch = 0;
  constructor(private readonly seed: number) {}

  wrap(sampler: Sampler): Sampler {
    return {
      length: sampler.length,
      indices: (epoch: number) => {
        this.epoch = epoch;
        this.batch = 0;
        return sampler.indices(epoch);
      },
    };
  }

  /** The generator of the next batch (advances the batch count). */
  next(): Rng {
    return new Rng(`${this.seed}/augment/${this.epoch}/${this.batch++}`);
  }
}

/** Top-1 accuracy on the validation set after each epoch, merged with the caller's evaluate. */
export function evaluation(
  validation: LabelledData | undefined,
  predict: (images: tf.Tensor4D) => tf.Tensor2D,
  evaluate: FitRunOptions['evaluate'],
): FitRunOptions['evaluate'] {
  if (!validation && !evaluate) return undefined;
  const truth = validation ? Int32Array.from(validation.labels()) : null;
  return async (epoch) => {
    const out: Record<string, number> = {};
    if (validation && truth) {
      const predicted = await predictClassesAsync(validation, (x) => predict(x as tf.Tensor4D), { batchSize: 256 });
      out.valAccuracy = accuracy(truth, predicted);
    }
    return { ...out, ...(await evaluate?.(epoch)) };
  };
}

/** The first `k` examples as one batch (setup checks run on it). */
export function probeBatch(data: LabelledData, k: number) {
  const n = Math.min(k, data.length);
  return data.batch(Array.from({ length: n }, (_, i) => i));
}

/** "options.teacher: expected logits over 10 classes (the classes of options.train), got 100 classes". */
export function classMismatch(argument: string, got: number, dataArgument: string, want: number) {
  return invalid(
    'INVALID_ARGUMENT',
    argument,
    `logits over ${want} classes (the classes of ${dataArgument})`,
    `${got} classes`,
  );
}
