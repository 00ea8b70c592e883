import { checkEnum, checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';
import { type EpochRecord, fit } from '../loop/fit';
import { checkStudent } from './distill';
import { TRAIN_LOSSES, type TrainLossName, trainLoss } from './loss-table';
import {
  BatchClock,
  COMMON_SPEC,
  type CommonRunOptions,
  checkData,
  classMismatch,
  evaluation,
  makeOptimizer,
  makeSampler,
  passedToFit,
  probeBatch,
} from './run-setup';
import type { DistilleryModelLike } from './teacher';

/** A loss of your own: (logits, labels) → scalar. */
export type TrainLossFunction = (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar;

export interface TrainOptions extends CommonRunOptions {
  /** The model to train: a Distillery model. */
  model: DistilleryModelLike;
  /** 'ce' | 'focal' | 'ldam-drw' | 'balanced-softmax' | 'logit-adjustment', or a function. */
  loss: TrainLossName | TrainLossFunction;
  /** 'ldam-drw': the epoch (0-based) from which the class weights switch on. Default ⌊0.8·epochs⌋ (LDAM-DRW: 160/200). */
  drwEpoch?: number;
}

export interface TrainResult {
  history: EpochRecord[];
  startEpoch: number;
  model: DistilleryModelLike;
}

/**
 * Supervised training without a teacher, for the long-tail losses and samplers, in one call on {@link fit}: the
 * named loss is bound to the training set's class counts (priors, margins, re-weighting), e.g.
 * `train({ model, train: data, loss: 'ldam-drw', sampler: 'class-balanced', epochs: 200, batchSize: 128 })`.
 * Before training one probe batch checks the model's class count and runs the loss once (lossOptions checked).
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const o = checkOptions<TrainOptions>(options ?? null, { ...COMMON_SPEC, model: true, loss: true, drwEpoch: true });
  const { data, numClasses, labels } = checkData(o.train, 'options.train');
  const validation = o.validation === undefined ? undefined : checkData(o.validation, 'options.validation').data;
  const epochs = checkNumber(o.epochs, 'options.epochs', { min: 0, integer: true });
  const batchSize = checkNumber(o.batchSize, 'options.batchSize', { min: 1, integer: true });
  const seed = checkNumber(o.seed ?? 0, 'options.seed', { integer: true });
  const model = checkStudent(o.model, 'options.model');
  const custom = typeof o.loss === 'function' ? (o.loss as TrainLossFunction) : null;
  const name = custom ? null : checkEnum(o.loss, 'options.loss', TRAIN_LOSSES as unknown as TrainLossName[]);
  if (custom && o.lossOptions !== undefined) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.lossOptions',
      'nothing with a loss function',
      describeValue(o.lossOptions),
    );
  }
  if (o.drwEpoch !== undefined && name !== 'ldam-drw') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.drwEpoch',
      "nothing: it is LDAM-DRW's switch epoch (loss 'ldam-drw')",
      `loss ${describeValue(o.loss)}`,
    );
  }
  const drwEpoch = checkNumber(o.drwEpoch ?? Math.max(1, Math.floor(0.8 * epochs)), 'options.drwEpoch', {
    min: 1,
    integer: true,
  });
  const counts = Array.from({ length: numClasses }, () => 0);
  for (const y of labels) counts[y]!++;
  if (name && name !== 'ce' && name !== 'focal' && counts.some((c) => c === 0)) {
    const empty = counts.indexOf(0);
    throw invalid(
      'INVALID_ARGUMENT',
      'options.train',
      `examples of every class for '${name}' (it uses the class counts)`,
      `no example of class ${empty}`,
    );
  }
  const named = name ? trainLoss(name, counts, o.lossOptions, drwEpoch) : null;
  const lossOf = (images: tf.Tensor4D, y: tf.Tensor1D, epoch: number, training: boolean) => {
    const logits = model.forward(images, { training }).logits;
    return custom ? custom(logits, y) : named!({ logits, labels: y, epoch });
  };

  const probe = probeBatch(data, 2);
  try {
    const c = tf.tidy(() => model.forward(probe.images, { training: false }).logits.shape[1]);
    if (c !== numClasses) throw classMismatch('options.model', c, 'options.train', numClasses);
    tf.tidy(() => {
      lossOf(probe.images, probe.labels, 0, false).dispose();
    });
  } finally {
    tf.dispose([probe.images, probe.labels]);
  }

  const clock = new BatchClock(seed);
  const sampler = clock.wrap(makeSampler(o.sampler, labels, numClasses, seed, epochs));
  const augment = o.augment;
  const batches = {
    batch(indices: Int32Array) {
      const raw = data.batch(indices);
      const rng = clock.next();
      if (!augment) return raw;
      try {
        const images = tf.tidy(() => augment(raw.images, rng));
        return { images, labels: raw.labels };
      } finally {
        raw.images.dispose();
      }
    },
  };
  const params = model.trainableVariables();
  const { optimizer, schedule } = makeOptimizer(o.optimizer, params, o.schedule, epochs, batchSize);
  const buffers = typeof model.buffers === 'function' ? model.buffers() : undefined;
  const result = await fit({
    params,
    buffers:
      buffers && buffers.variables.length > 0
        ? { variables: buffers.variables, counters: buffers.counters }
        : undefined,
    data: batches,
    sampler,
    batchSize,
    epochs,
    optimizer,
    schedule,
    seed,
    loss: (b, ctx) => tf.tidy(() => lossOf(b.images, b.labels, ctx.epoch, true)),
    evaluate: evaluation(validation, (x) => model.forward(x).logits, o.evaluate),
    ...passedToFit(o),
    onBatchEnd: o.onBatchEnd,
    onEpochEnd: o.onEpochEnd,
  });
  return { ...result, model };
}
