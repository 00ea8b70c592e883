import { batchIndices, type Sampler } from '@distillery/samplers';
import { checkNumber, checkOptions, DistilleryError, describeValue, invalid, Rng } from '@distillery/tensor';
import * as tf from '@tensorflow/tfjs-core';
import { clipGradNormOnDevice } from '../optim/clip-grad-norm';
import type { EMA } from '../optim/ema';
import { lossGradients, SAM } from '../optim/sam';
import type { Optimizer } from '../optim/types';
import type { LRSchedule } from '../schedules/schedules';
import {
  loadCheckpoint,
  removeStaleTemporaries,
  restoreCheckpoint,
  saveCheckpoint,
  type TrainingBuffers,
} from './checkpoint';
import { type ProgressMode, ProgressReporter } from './progress';

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
  /** Source of batches: e.g. an ImageDataset of @distillery/data. */
  data: { batch(indices: Int32Array): T };
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

function disposeTensors(batch: unknown): void {
  if (batch instanceof tf.Tensor) batch.dispose();
  else if (batch && typeof batch === 'object') {
    for (const v of Object.values(batch)) if (v instanceof tf.Tensor) v.dispose();
  }
}

/**
 * A small training loop: sampler → batches → loss → (SAM) gradients → clipping → optimizer step → EMA, with the LR
 * schedule, per-epoch evaluation, a progress bar (TTY) or plain lines, JSON-lines logs and atomic checkpoints
 * (weights + optimizer state + RNG state + epoch). Resuming from a checkpoint written after epoch e continues with
 * epoch e+1 exactly as the uninterrupted run would (same batches, same RNG stream, same optimizer state), so the
 * losses are identical; a run killed mid-epoch loses only that epoch.
 */
export async function fit<T>(options: FitOptions<T>): Promise<{ history: EpochRecord[]; startEpoch: number }> {
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
  let rng = new Rng(checkNumber(o.seed ?? 0, 'options.seed', { integer: true }));
  if (o.samRho !== undefined && accumulate > 1) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.accumulationSteps',
      '1 with SAM (two passes per step)',
      String(accumulate),
    );
  }
  const applyGradients = (grads: Record<string, tf.Tensor>) => {
    try {
      if (o.clipGradNorm !== undefined) {
        const clipped = clipGradNormOnDevice(grads, o.clipGradNorm);
        clipped.totalNorm.dispose();
        try {
          optimizer.step(clipped.grads);
        } finally {
          tf.dispose(Object.values(clipped.grads));
        }
      } else optimizer.step(grads);
    } finally {
      tf.dispose(Object.values(grads));
    }
  };

  let startEpoch = 0;
  let step = 0;
  let history: EpochRecord[] = [];
  if (o.resume && o.checkpoint) await removeStaleTemporaries(o.checkpoint);
  if (o.resume && o.checkpoint && (await exists(o.checkpoint))) {
    const ckpt = await loadCheckpoint(o.checkpoint);
    const restored = restoreCheckpoint(
      ckpt,
      { params: o.params, optimizer, ema: o.ema, buffers: o.buffers },
      o.checkpoint,
    );
    if (restored.rng) rng = restored.rng;
    startEpoch = restored.meta.epoch;
    step = restored.meta.step;
    history = (restored.meta.history as EpochRecord[]) ?? [];
    if (o.state) {
      const saved = restored.meta.extra as { state?: unknown } | undefined;
      if (!saved || !('state' in saved)) {
        throw new DistilleryError(
          'FORMAT',
          `${o.checkpoint}: this checkpoint holds no training state, but the run keeps some (options.state); delete it to retrain that model from the start`,
          { argument: 'checkpoint' },
        );
      }
      o.state.restore(saved.state);
    }
  }
  // SAM's two passes see the same batch and the same random draws (the run's generator is rewound before the second
  // pass), and the BatchNorm statistics (buffers) move once per step, at the unperturbed weights.
  const sam = o.samRho !== undefined ? new SAM(optimizer, { rho: o.samRho, buffers: o.buffers, rng }) : null;
  const progress = new ProgressReporter(o.progress ?? 'auto', epochs);
  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    const started = Date.now();
    const batches = batchIndices(o.sampler.indices(epoch), batchSize, { dropLast: o.dropLast });
    let total = 0;
    let lr = optimizer.lr;
    let accumulated: Record<string, tf.Tensor> | null = null;
    let micro = 0;
    for (let b = 0; b < batches.length; b++) {
      if (o.schedule) {
        const t = unit === 'epoch' ? epoch : step;
        const scheduled = o.schedule(t);
        if (typeof scheduled !== 'number' || !Number.isFinite(scheduled) || scheduled < 0) {
          throw invalid(
            'INVALID_ARGUMENT',
            'options.schedule',
            'a finite learning rate >= 0',
            `${describeValue(scheduled)} at ${unit} ${t}`,
          );
        }
        optimizer.lr = scheduled;
      }
      lr = optimizer.lr;
      if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
        throw invalid('INVALID_ARGUMENT', 'options.optimizer.lr', 'a finite learning rate >= 0', describeValue(lr));
      }
      const ctx: StepContext = { epoch, step, batchIndex: b, batchesPerEpoch: batches.length, rng, lr };
      const batch = o.data.batch(batches[b]!);
      // The buffers (BatchNorm statistics) before this batch, put back if its loss is not finite.
      const savedBuffers = o.buffers ? snapshotBuffers(o.buffers) : null;
      let lossTensor: tf.Scalar;
      let grads: Record<string, tf.Tensor>;
      try {
        const lossFn = () => checkedLoss(o.loss(batch, ctx));
        ({ value: lossTensor, grads } = sam
          ? sam.gradients(lossFn, 'options.loss')
          : lossGradients(lossFn, o.params, 'options.loss'));
      } catch (error) {
        if (accumulated) tf.dispose(Object.values(accumulated as Record<string, tf.Tensor>));
        savedBuffers?.dispose();
        throw error;
      } finally {
        dispose(batch);
      }
      // The loss is read asynchronously (never a synchronous read of a device tensor: WebGPU in browsers cannot do
      // one) and before any update, so a non-finite loss stops the run with the model as it was before this batch.
      let value: number;
      try {
        value = (await lossTensor.data())[0]!;
      } finally {
        lossTensor.dispose();
      }
      if (!Number.isFinite(value)) {
        tf.dispose(Object.values(grads));
        if (accumulated) tf.dispose(Object.values(accumulated as Record<string, tf.Tensor>));
        savedBuffers?.restore();
        savedBuffers?.dispose();
        throw invalid(
          'NON_FINITE',
          'loss',
          'a finite training loss',
          `${value} at epoch ${epoch}, batch ${b} (lr ${lr}); no update was applied`,
        );
      }
      savedBuffers?.dispose();
      let stepped = false;
      if (accumulate === 1) {
        applyGradients(grads);
        stepped = true;
      } else {
        // timm/DeiT accumulation: each micro-batch loss is divided by accumulationSteps and the gradients add up.
        const previous: Record<string, tf.Tensor> | null = accumulated;
        const next: Record<string, tf.Tensor> = {};
        for (const [name, g] of Object.entries(grads)) {
          next[name] = tf.tidy(() => {
            const scaled = tf.div(g, accumulate);
            return previous?.[name] ? tf.add(previous[name]!, scaled) : scaled;
          });
        }
        if (previous) tf.dispose(Object.values(previous));
        tf.dispose(Object.values(grads));
        accumulated = next;
        micro++;
        if (micro === accumulate || b === batches.length - 1) {
          applyGradients(accumulated);
          accumulated = null;
          micro = 0;
          stepped = true;
        }
      }
      if (stepped) {
        step++;
        o.ema?.update();
      }
      total += value;
      progress.batch(epoch, b + 1, batches.length, value);
      await o.onBatchEnd?.({ ...ctx, step, loss: value });
      await yieldToEventLoop();
    }
    const record: EpochRecord = {
      epoch,
      step,
      loss: total / batches.length,
      lr,
      seconds: (Date.now() - started) / 1000,
    };
    if (o.evaluate) Object.assign(record, await o.evaluate(epoch));
    history.push(record);
    progress.epoch(record);
    if (o.logFile) await appendLine(o.logFile, JSON.stringify(record));
    if (o.checkpoint && ((epoch + 1) % every === 0 || epoch + 1 === epochs)) {
      await saveCheckpoint(o.checkpoint, {
        params: o.params,
        optimizer,
        ema: o.ema,
        buffers: o.buffers,
        rng,
        epoch: epoch + 1,
        step,
        history,
        extra: o.state ? { state: o.state.save() } : undefined,
      });
    }
    await o.onEpochEnd?.(record);
  }
  progress.done();
  return { history, startEpoch };
}

/** The loss closure's result, checked: a float32 scalar tensor (a clear error instead of tfjs's). */
function checkedLoss(value: unknown): tf.Scalar {
  if (!(value instanceof tf.Tensor)) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.loss',
      'a loss function returning a scalar tf.Tensor (synchronously)',
      `it returned ${value instanceof Promise ? 'a Promise' : describeValue(value)}`,
    );
  }
  if (value.rank !== 0) {
    throw invalid(
      'INVALID_RANK',
      'options.loss',
      'a scalar loss (reduce it, e.g. with tf.mean)',
      `a tensor of shape [${value.shape.join(', ')}]`,
    );
  }
  if (value.dtype !== 'float32') throw invalid('INVALID_DTYPE', 'options.loss', 'a float32 loss', value.dtype);
  return value as tf.Scalar;
}

/** A copy of the buffers' values and counters, to put back. */
function snapshotBuffers(buffers: TrainingBuffers): { restore(): void; dispose(): void } {
  const values = buffers.variables.map((v) => tf.clone(v));
  const counters = buffers.counters ? new Map(buffers.counters) : undefined;
  return {
    restore() {
      buffers.variables.forEach((v, i) => {
        v.assign(values[i]!);
      });
      if (counters && buffers.counters) for (const [k, n] of counters) buffers.counters.set(k, n);
    },
    dispose() {
      for (const t of values) t.dispose();
    },
  };
}

async function exists(path: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function appendLine(path: string, line: string): Promise<void> {
  const { appendFile, mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  try {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, `${line}\n`);
  } catch (error) {
    throw invalid('IO', path, 'a writable log file', (error as Error).message);
  }
}

/**
 * Lets the event loop run between steps, so that a Ctrl-C handler (the CLI's) or a page's UI gets its turn: on
 * cpu/wasm every read resolves as a microtask, and a whole epoch would otherwise run without one.
 */
function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
