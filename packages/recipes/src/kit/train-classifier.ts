import type { Batch } from '@distillery/data';
import { instanceBalancedSampler, type Sampler } from '@distillery/samplers';
import { checkNumber, checkOptions, describeValue, invalid, noGrad, tf } from '@distillery/tensor';
import {
  accuracy,
  type EpochRecord,
  fit,
  type LRSchedule,
  type Optimizer,
  predictClassesAsync,
  type StepContext,
  type TrainingBuffers,
} from '@distillery/train';
import type { RecipeContext } from '../recipe';
import type { LabelledDataset } from './evaluate-classifier';

/** A model trainClassifier can train: a @distillery/vit classifier (ViT, DeiT, ResNet, multi-expert ResNet, …). */
export interface ClassifierModel {
  trainableVariables(): tf.Variable[];
  buffers(): TrainingBuffers;
  forward(images: tf.Tensor, options?: { training?: boolean }): { logits: tf.Tensor };
}

/** The teacher's logits on the student's views (no gradient; the teacher in inference mode). */
export type TeacherLogits = (views: tf.Tensor4D) => tf.Tensor2D;

export interface TrainClassifierOptions<M extends ClassifierModel> {
  /** The runner's context: checkpoints, logs, --resume, progress and live curves come from it. */
  ctx: RecipeContext;
  /** The run's name: its checkpoint and log file, and what the live curves call it (e.g. 'student-kd'). */
  run: string;
  model: M;
  /** Training set. */
  data: { readonly length: number; batch(indices: ArrayLike<number>): Batch };
  epochs: number;
  batchSize: number;
  /** Seed of the run (fit's Rng) and of the default sampler. */
  seed: number;
  /** Builds the optimizer over the trained variables (the model's, then `extraParams`). */
  optimizer: (params: tf.Variable[]) => Optimizer;
  schedule?: LRSchedule;
  /**
   * One batch's loss (run inside tf.tidy). With a `teacher`, the third argument gives the teacher's logits on any
   * views (the student's own augmented batch: what the teacher sees must be what the student sees).
   */
  loss: (batch: Batch, step: StepContext, teacher: TeacherLogits) => tf.Scalar;
  /** A test set: its top-1 accuracy joins every epoch's record as `testAccuracy` (curves, logs). */
  evaluateOn?: LabelledDataset;
  teacher?: { forward(images: tf.Tensor, options?: { training?: boolean }): { logits: tf.Tensor } };
  /** Trained variables outside the model (a projection, a weak head), after the model's. */
  extraParams?: tf.Variable[];
  /** Epoch orders (default: instanceBalancedSampler with `seed`). */
  sampler?: Sampler;
  clipGradNorm?: number;
  /** SAM radius (fit's samRho). */
  samRho?: number;
}

export interface TrainedClassifier<M> {
  model: M;
  /** One record per epoch: loss, lr, and `testAccuracy` with `evaluateOn`. */
  history: EpochRecord[];
}

const SPEC = {
  ctx: true,
  run: true,
  model: true,
  data: true,
  epochs: true,
  batchSize: true,
  seed: true,
  optimizer: true,
  schedule: true,
  loss: true,
  evaluateOn: true,
  teacher: true,
  extraParams: true,
  sampler: true,
  clipGradNorm: true,
  samRho: true,
} as const;

/**
 * Trains a classifier with `fit` the way every recipe does: the model's variables (and `extraParams`), its buffers
 * (BatchNorm statistics), instance-balanced batches, the loss inside tf.tidy, the test accuracy after each epoch,
 * and the runner's checkpoint / log / resume / progress options for the run.
 *
 *     const { model, history } = await trainClassifier({
 *       ctx, run: 'student-kd', model: new VisionTransformer(vit), data: train, epochs, batchSize: 64, seed,
 *       optimizer: (p) => new AdamW(p, { lr: 2e-3 }), teacher,
 *       loss: ({ images, labels }, step, teacher) => { … },
 *       evaluateOn: test,
 *     });
 */
export async function trainClassifier<M extends ClassifierModel>(
  options: TrainClassifierOptions<M>,
): Promise<TrainedClassifier<M>> {
  const o = checkOptions<TrainClassifierOptions<M>>(options ?? null, SPEC);
  const { ctx, model, teacher } = o;
  if (!ctx || typeof ctx.fitOptions !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'options.ctx', "a recipe's context (RecipeContext)", describeValue(ctx));
  }
  if (typeof o.run !== 'string' || o.run === '') {
    throw invalid('INVALID_ARGUMENT', 'options.run', 'a non-empty name', describeValue(o.run));
  }
  for (const key of ['model', 'teacher'] as const) {
    const m = o[key];
    if (m === undefined && key === 'teacher') continue;
    if (!m || typeof m.forward !== 'function' || (key === 'model' && typeof model.trainableVariables !== 'function')) {
      throw invalid('INVALID_ARGUMENT', `options.${key}`, 'a model with forward(images)', describeValue(m));
    }
  }
  for (const key of ['optimizer', 'loss'] as const) {
    if (typeof o[key] !== 'function')
      throw invalid('INVALID_ARGUMENT', `options.${key}`, 'a function', describeValue(o[key]));
  }
  if (!o.data || typeof o.data.batch !== 'function') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.data',
      'a dataset with length and batch(indices)',
      describeValue(o.data),
    );
  }
  const epochs = checkNumber(o.epochs, 'options.epochs', { min: 1, integer: true });
  checkNumber(o.seed, 'options.seed', { integer: true });
  if (o.extraParams !== undefined && !Array.isArray(o.extraParams)) {
    throw invalid('INVALID_ARGUMENT', 'options.extraParams', 'an array of variables', describeValue(o.extraParams));
  }
  const test = o.evaluateOn;
  if (test !== undefined && (!test || typeof test.labels !== 'function' || typeof test.batch !== 'function')) {
    throw invalid('INVALID_ARGUMENT', 'options.evaluateOn', 'a labelled dataset', describeValue(test));
  }

  const params = [...model.trainableVariables(), ...(o.extraParams ?? [])];
  const teacherLogits: TeacherLogits = (views) => {
    if (!teacher)
      throw invalid('INVALID_ARGUMENT', 'options.teacher', 'a teacher model (the loss asked for one)', 'none');
    // inference mode: the teacher's forward is never recorded on the tape (no gradient, no saved activations)
    return noGrad(() => teacher.forward(views, { training: false }).logits) as tf.Tensor2D;
  };
  const truth = test?.labels();
  const { history } = await fit({
    params,
    buffers: model.buffers(),
    data: o.data,
    sampler: o.sampler ?? instanceBalancedSampler(o.data.length, { seed: o.seed }),
    batchSize: o.batchSize,
    epochs,
    optimizer: o.optimizer(params),
    ...(o.schedule ? { schedule: o.schedule } : {}),
    ...(o.clipGradNorm !== undefined ? { clipGradNorm: o.clipGradNorm } : {}),
    ...(o.samRho !== undefined ? { samRho: o.samRho } : {}),
    seed: o.seed,
    loss: (batch: Batch, step: StepContext) => tf.tidy(() => o.loss(batch, step, teacherLogits)),
    ...(test && truth
      ? {
          evaluate: async () => ({
            testAccuracy: accuracy(
              truth,
              await predictClassesAsync(test, (x) => model.forward(x).logits, { batchSize: 250 }),
            ),
          }),
        }
      : {}),
    ...ctx.fitOptions(o.run),
  });
  return { model, history };
}
