import { crossEntropy } from '@distillery/losses';
import { checkEnum, checkNumber, checkOptions, describeValue, invalid, Rng, tf } from '@distillery/tensor';
import { type EpochRecord, fit } from '../loop/fit';
import {
  applyLinear,
  auxiliaryLinear,
  DISTILL_LOSS_SPECS,
  DISTILL_LOSSES,
  type DistillLossName,
  type DistillLossSpec,
} from './loss-table';
import {
  BatchClock,
  COMMON_SPEC,
  type CommonRunOptions,
  checkData,
  classMismatch,
  evaluation,
  type LabelledData,
  makeOptimizer,
  makeSampler,
  passedToFit,
  probeBatch,
} from './run-setup';
import {
  type DistilleryModelLike,
  lastBlockPatchTokens,
  type Teacher,
  type TeacherAdapter,
  type TeacherKind,
  teacherAdapter,
} from './teacher';
import { CACHE_PROBE_ROWS, TeacherLogitCache } from './teacher-cache';

/** A distillation loss of your own: (student logits, teacher logits, labels) → scalar, computed on the tape. */
export type DistillLossFunction = (
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D,
) => tf.Scalar;

export interface DistillOptions extends CommonRunOptions {
  /**
   * A Distillery model, a tfjs LayersModel/GraphModel, or a function images → logits. Run in inference mode, outside
   * the gradient tape, never trained. Omitted for 'uskd' (self-distillation: the student teaches itself).
   */
  teacher?: Teacher;
  /** The model to train: a Distillery model (e.g. `createViT(...)`, `new ResNetCifar(...)`). */
  student: DistilleryModelLike;
  /** A loss name (official defaults; see DISTILL_LOSS_SPECS) or your own function. */
  loss: DistillLossName | DistillLossFunction;
  /** Weight of the student's CE on the labels (named losses; default per loss, e.g. 0.1 for kd). */
  ceWeight?: number;
  /** Weight of the distillation term (named losses; default 0.9 for kd, 1 otherwise). */
  distillWeight?: number;
  /** DKD's linear warm-up of the distillation term, in epochs (default 20, mdistiller). 'dkd' only. */
  warmupEpochs?: number;
  /**
   * Cache the teacher's logits by dataset index (`true` / 'memory', or `{ dir }` to keep them on disk across runs):
   * the teacher then runs once per example. Needs a teacher that sees un-augmented images (no `augment`, or
   * `teacherInput: 'original'`); refused for 'deit-lt' (its teacher sees the student's augmented batch) and 'trg'.
   */
  cacheTeacher?: boolean | 'memory' | { dir: string };
  /** What the teacher sees: the student's augmented batch ('augmented', default) or the original images. */
  teacherInput?: 'augmented' | 'original';
}

export interface DistillResult {
  history: EpochRecord[];
  startEpoch: number;
  /** The trained student (the object given). */
  student: DistilleryModelLike;
  /** Trainable heads the loss added (USKD's weak head, TRG's projection): [weight [in, out], bias [out]]. */
  auxiliary: tf.Variable[];
  teacherKind: TeacherKind | null;
  /** Cache statistics (batches served from the cache, batches computed, examples held). */
  cache?: { hits: number; misses: number; size: number };
}

interface StudentParts {
  logits: tf.Tensor2D;
  distLogits?: tf.Tensor2D;
  weakLogits?: tf.Tensor2D;
  studentTokens?: tf.Tensor3D;
}

interface DistillBatch {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
  teacherLogits: tf.Tensor2D | null;
  teacherTokens?: tf.Tensor3D;
}

const CUSTOM: DistillLossSpec = {
  teacher: true,
  augmentedTeacher: false,
  tokens: false,
  distHead: false,
  weakHead: false,
  ceWeight: null,
  distillWeight: 1,
  term: () => {
    throw new Error('unreachable');
  },
};

/**
 * Knowledge distillation in one call, on {@link fit}: the teacher's logits (outside the gradient tape, inference mode)
 * and the student's outputs go through the named loss with its official defaults, plus the student's CE where the
 * method adds one:
 *
 *     L = ceWeight·CE(z_s, y) + distillWeight·term(z_s, z_t, y)        (deit-lt: its own (1 − α)·CE + α·dist)
 *
 * The batch source runs the teacher before the loss closure, so no teacher op is recorded on the tape and the
 * teacher's weights never receive gradients. Before training, one probe batch checks the teacher's and the student's
 * class counts against the data and runs the loss once (so lossOptions are checked by the loss's own option check).
 */
export async function distill(options: DistillOptions): Promise<DistillResult> {
  const o = checkOptions<DistillOptions>(options ?? null, {
    ...COMMON_SPEC,
    teacher: true,
    student: true,
    loss: true,
    ceWeight: true,
    distillWeight: true,
    warmupEpochs: true,
    cacheTeacher: true,
    teacherInput: ['augmented', 'original'],
  });
  const { data: train, numClasses, labels } = checkData(o.train, 'options.train');
  const validation = checkValidation(o.validation, numClasses);
  const epochs = checkNumber(o.epochs, 'options.epochs', { min: 0, integer: true });
  const batchSize = checkNumber(o.batchSize, 'options.batchSize', { min: 1, integer: true });
  const seed = checkNumber(o.seed ?? 0, 'options.seed', { integer: true });
  const student = checkStudent(o.student);

  // the loss
  const custom = typeof o.loss === 'function' ? (o.loss as DistillLossFunction) : null;
  const name = custom ? null : checkEnum(o.loss, 'options.loss', DISTILL_LOSSES as unknown as DistillLossName[]);
  const spec = name ? DISTILL_LOSS_SPECS[name] : CUSTOM;
  if (custom) {
    for (const key of ['ceWeight', 'distillWeight', 'lossOptions', 'warmupEpochs'] as const) {
      if (o[key] !== undefined) {
        throw invalid(
          'INVALID_ARGUMENT',
          `options.${key}`,
          'nothing with a loss function (it computes the whole loss)',
          describeValue(o[key]),
        );
      }
    }
  }
  if (o.warmupEpochs !== undefined && name !== 'dkd') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.warmupEpochs',
      "nothing: it is DKD's warm-up (loss 'dkd')",
      `loss ${describeValue(o.loss)}`,
    );
  }
  if (spec.ceWeight === null && o.ceWeight !== undefined && !custom) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.ceWeight',
      `nothing with '${name}' (its loss has its own CE term)`,
      describeValue(o.ceWeight),
    );
  }
  const ceWeight =
    spec.ceWeight === null ? 0 : checkNumber(o.ceWeight ?? spec.ceWeight, 'options.ceWeight', { min: 0 });
  const distillWeight = checkNumber(o.distillWeight ?? spec.distillWeight, 'options.distillWeight', { min: 0 });
  const warmupEpochs = checkNumber(o.warmupEpochs ?? 20, 'options.warmupEpochs', { min: 0 });

  // the teacher
  if (spec.teacher && o.teacher === undefined) {
    throw invalid('INVALID_ARGUMENT', 'options.teacher', `a teacher for loss ${describeValue(o.loss)}`, 'undefined');
  }
  if (!spec.teacher && o.teacher !== undefined) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.teacher',
      "no teacher with 'uskd' (self-distillation: the student's own predictions are the targets)",
      'a teacher',
    );
  }
  const teacher = spec.teacher ? teacherAdapter(o.teacher) : null;
  if (teacher) {
    const own = new Set(student.trainableVariables());
    if (teacher.variables().some((v) => own.has(v))) {
      throw invalid('INVALID_ARGUMENT', 'options.teacher', 'a teacher other than the student', 'the student itself');
    }
  }
  const teacherInput = o.teacherInput ?? 'augmented';
  const cacheMode = checkCache(o.cacheTeacher, spec, name, !!teacher, o.augment !== undefined, teacherInput);
  if (spec.augmentedTeacher && teacherInput === 'original') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.teacherInput',
      `'augmented' with '${name}' (its teacher must see the student's augmented batch)`,
      "'original'",
    );
  }

  // probe: class counts, head layout, loss options
  const params = [...student.trainableVariables()];
  const depth = student.config?.depth;
  const probe = probeBatch(train, 2);
  let auxiliary: tf.Variable[] = [];
  let projection: tf.Variable[] | null = null;
  let weakHead: tf.Variable[] | null = null;
  let probeTeacher: { logits: tf.Tensor2D; tokens?: tf.Tensor3D } | null = null;
  try {
    if ((spec.weakHead || spec.tokens) && typeof depth !== 'number') {
      throw invalid(
        'INVALID_ARGUMENT',
        'options.student',
        `a ViT student (config.depth and collect) for loss '${name}'`,
        describeValue(o.student),
      );
    }
    if (teacher) {
      probeTeacher = await teacher.run(probe.images, spec.tokens);
      const c = probeTeacher.logits.shape[1];
      if (c !== numClasses) throw classMismatch('options.teacher', c, 'options.train', numClasses);
    }
    const sample = student.forward(probe.images, { training: false });
    const sc = sample.logits.shape[1];
    const hasDist = sample.distLogits instanceof tf.Tensor;
    const width = spec.tokens || spec.weakHead ? studentWidth(student, probe.images, depth!, spec) : 0;
    tf.dispose(Object.values(sample).filter((v) => v instanceof tf.Tensor) as tf.Tensor[]);
    if (sc !== numClasses) throw classMismatch('options.student', sc, 'options.train', numClasses);
    if (spec.distHead && !hasDist) {
      throw invalid(
        'INVALID_ARGUMENT',
        'options.student',
        "a distilled ViT for 'deit-lt' (clsLogits and distLogits: createViT(..., { distilled: true }))",
        'a model without a distillation head',
      );
    }
    if (spec.tokens) {
      const t = probeTeacher!.tokens!;
      projection = auxiliaryLinear('trg.proj', width, t.shape[2], `${seed}/trg-projection`);
      auxiliary = projection;
    }
    if (spec.weakHead) {
      weakHead = auxiliaryLinear('uskd.fc', width, numClasses, `${seed}/uskd-weak-head`);
      auxiliary = weakHead;
    }
    // one loss evaluation (no gradients) checks lossOptions and every shape before the first step
    tf.tidy(() => {
      lossOf(
        {
          images: probe.images,
          labels: probe.labels,
          teacherLogits: probeTeacher?.logits ?? null,
          teacherTokens: probeTeacher?.tokens,
        },
        false,
        { epoch: 0, rng: new Rng(`${seed}/probe`) },
      ).dispose();
    });
  } catch (error) {
    tf.dispose(auxiliary);
    throw error;
  } finally {
    tf.dispose([probe.images, probe.labels]);
    if (probeTeacher) tf.dispose([probeTeacher.logits, ...(probeTeacher.tokens ? [probeTeacher.tokens] : [])]);
  }

  function forwardStudent(images: tf.Tensor4D, training: boolean): StudentParts {
    if (spec.weakHead) {
      const mid = Math.floor(depth! / 2) - 1;
      const out = student.forward(images, { training, collect: [mid] });
      const tokens = out.blocks![mid]!;
      const [b, , d] = tokens.shape;
      const cls = tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, d]), [b, d]) as tf.Tensor2D;
      return { logits: out.logits, weakLogits: applyLinear(cls, weakHead!) };
    }
    if (spec.tokens) {
      const { out, tokens } = lastBlockPatchTokens(student, images, training);
      return { logits: out.logits, studentTokens: applyLinear(tokens!, projection!) };
    }
    const out = student.forward(images, { training });
    if (spec.distHead) return { logits: out.clsLogits!, distLogits: out.distLogits! };
    return { logits: out.logits };
  }

  function lossOf(batch: DistillBatch, training: boolean, step: { epoch: number; rng: Rng }): tf.Scalar {
    const s = forwardStudent(batch.images, training);
    if (custom) return custom(s.logits, batch.teacherLogits!, batch.labels);
    const term = spec.term(
      {
        ...s,
        teacherLogits: batch.teacherLogits,
        teacherTokens: batch.teacherTokens,
        labels: batch.labels,
        epoch: step.epoch,
        epochs,
        rng: step.rng,
      },
      o.lossOptions,
      { warmupEpochs },
    );
    const weighted = tf.mul(term, distillWeight);
    return (
      ceWeight > 0 ? tf.add(tf.mul(crossEntropy(s.logits, batch.labels), ceWeight), weighted) : weighted
    ) as tf.Scalar;
  }

  params.push(...auxiliary);
  const cache =
    cacheMode === null
      ? null
      : cacheMode === 'memory'
        ? new TeacherLogitCache(train.length, numClasses)
        : await TeacherLogitCache.open(cacheMode.dir, train.length, numClasses, () => probeRows(teacher!, train));

  const clock = new BatchClock(seed);
  const sampler = clock.wrap(makeSampler(o.sampler, labels, numClasses, seed, epochs));
  const data = {
    async batch(indices: Int32Array): Promise<DistillBatch> {
      const raw = train.batch(indices);
      const rng = clock.next();
      const images = o.augment ? augmentBatch(o.augment, raw.images, rng) : raw.images;
      if (!teacher) {
        if (images !== raw.images) raw.images.dispose();
        return { images, labels: raw.labels, teacherLogits: null };
      }
      try {
        const seen = teacherInput === 'original' ? raw.images : images;
        let teacherLogits = cache?.lookup(indices) ?? null;
        let teacherTokens: tf.Tensor3D | undefined;
        if (!teacherLogits) {
          // awaited inside try: the images stay alive until an async teacher has settled
          const out = await teacher.run(seen, spec.tokens);
          teacherLogits = out.logits;
          teacherTokens = out.tokens;
          cache?.hold(indices, teacherLogits);
        }
        return { images, labels: raw.labels, teacherLogits, teacherTokens };
      } catch (error) {
        // a failed teacher (a remote one that is down) leaves nothing of this batch behind
        tf.dispose([images, raw.labels]);
        throw error;
      } finally {
        if (images !== raw.images) raw.images.dispose();
      }
    },
  };

  const { optimizer, schedule } = makeOptimizer(o.optimizer, params, o.schedule, epochs, batchSize);
  const buffers = typeof student.buffers === 'function' ? student.buffers() : undefined;
  try {
    const result = await fit<DistillBatch>({
      params,
      buffers:
        buffers && buffers.variables.length > 0
          ? { variables: buffers.variables, counters: buffers.counters }
          : undefined,
      data,
      sampler,
      batchSize,
      epochs,
      optimizer,
      schedule,
      seed,
      loss: (batch, ctx) => tf.tidy(() => lossOf(batch, true, ctx)),
      evaluate: evaluation(validation, (x) => student.forward(x).logits, o.evaluate),
      onBatchEnd: async (info) => {
        await cache?.flush();
        await o.onBatchEnd?.(info);
      },
      onEpochEnd: async (record) => {
        await cache?.save();
        await o.onEpochEnd?.(record);
      },
      ...passedToFit(o),
      disposeBatch: (b) => {
        tf.dispose([
          b.images,
          b.labels,
          ...(b.teacherLogits ? [b.teacherLogits] : []),
          ...(b.teacherTokens ? [b.teacherTokens] : []),
        ]);
      },
    });
    return {
      ...result,
      student,
      auxiliary,
      teacherKind: teacher?.kind ?? null,
      cache: cache ? { hits: cache.hits, misses: cache.misses, size: cache.size } : undefined,
    };
  } catch (error) {
    cache?.discard();
    throw error;
  }
}

function checkValidation(given: unknown, numClasses: number): LabelledData | undefined {
  if (given === undefined) return undefined;
  const v = checkData(given, 'options.validation');
  if (v.numClasses > numClasses) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.validation',
      `at most ${numClasses} classes (those of options.train)`,
      `${v.numClasses} classes`,
    );
  }
  return v.data;
}

export function checkStudent(student: unknown, argument = 'options.student'): DistilleryModelLike {
  const s = student as DistilleryModelLike;
  if (!s || typeof s.forward !== 'function' || typeof s.trainableVariables !== 'function') {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      'a Distillery model (forward(images, { training }) and trainableVariables())',
      describeValue(student),
    );
  }
  if (s.trainableVariables().length === 0) {
    throw invalid('EMPTY_INPUT', argument, 'a model with trainable variables', 'none');
  }
  return s;
}

function studentWidth(student: DistilleryModelLike, images: tf.Tensor4D, depth: number, spec: DistillLossSpec): number {
  const block = spec.weakHead ? Math.floor(depth / 2) - 1 : depth - 1;
  const out = student.forward(images, { training: false, collect: [block] });
  const tokens = out.blocks?.[block];
  const width = tokens?.shape[2];
  tf.dispose(
    Object.values(out).flatMap((v) =>
      v instanceof tf.Tensor
        ? [v]
        : v && typeof v === 'object'
          ? Object.values(v).filter((t) => t instanceof tf.Tensor)
          : [],
    ) as tf.Tensor[],
  );
  if (typeof width !== 'number') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.student',
      `a ViT student returning the tokens of block ${block} (collect)`,
      'no tokens',
    );
  }
  return width;
}

function checkCache(
  given: unknown,
  spec: DistillLossSpec,
  name: DistillLossName | null,
  hasTeacher: boolean,
  augmented: boolean,
  teacherInput: 'augmented' | 'original',
): null | 'memory' | { dir: string } {
  if (given === undefined || given === false) return null;
  const argument = 'options.cacheTeacher';
  let mode: 'memory' | { dir: string };
  if (given === true || given === 'memory') mode = 'memory';
  else {
    const { dir } = checkOptions<{ dir: string }>(given, { dir: true }, argument);
    if (typeof dir !== 'string' || dir === '')
      throw invalid('INVALID_ARGUMENT', `${argument}.dir`, 'a directory path', describeValue(dir));
    mode = { dir };
  }
  if (!hasTeacher) throw invalid('INVALID_ARGUMENT', argument, 'no cache without a teacher', describeValue(given));
  if (spec.augmentedTeacher) {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      `no cache with '${name}' (its teacher must see the student's augmented batch)`,
      describeValue(given),
    );
  }
  if (spec.tokens) {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      `no cache with '${name}' (it needs the teacher's tokens; the cache holds logits)`,
      describeValue(given),
    );
  }
  if (augmented && teacherInput !== 'original') {
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      "teacherInput: 'original' with augment (the cache holds the teacher's logits of the un-augmented images)",
      "teacherInput 'augmented'",
    );
  }
  return mode;
}

function augmentBatch(augment: (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D, images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const out = tf.tidy(() => augment(images, rng));
  if (!(out instanceof tf.Tensor) || out.rank !== 4 || out.shape[0] !== images.shape[0]) {
    if (out instanceof tf.Tensor) out.dispose();
    throw invalid('INVALID_ARGUMENT', 'options.augment', `images [${images.shape[0]}, H, W, C]`, describeValue(out));
  }
  return out;
}

async function probeRows(teacher: TeacherAdapter, train: LabelledData) {
  const batch = probeBatch(train, CACHE_PROBE_ROWS);
  try {
    const { logits } = await teacher.run(batch.images);
    try {
      return {
        indices: Array.from({ length: batch.labels.shape[0] }, (_, i) => i),
        values: (await logits.data()) as Float32Array,
      };
    } finally {
      logits.dispose();
    }
  } finally {
    tf.dispose([batch.images, batch.labels]);
  }
}
