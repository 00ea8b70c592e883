import { describeValue, invalid, type Rng, tf } from '@distillery/tensor';
import { clipGradNormOnDevice } from '../optim/clip-grad-norm';
import { lossGradients, SAM } from '../optim/sam';
import type { Gradients, Optimizer } from '../optim/types';
import type { TrainingBuffers } from './checkpoint';
import type { CheckedFitOptions, StepContext } from './fit-options';

/** How a batch's gradients become optimizer steps: plain, accumulated over k batches, or SAM. */
export interface StepStrategy {
  /** The batch's loss L(w) and the gradients to step with (the caller disposes both). */
  gradients(loss: () => tf.Scalar): { value: tf.Scalar; grads: Gradients };
  /** Takes (and frees) a batch's gradients: steps the optimizer now or holds them for later; true when it stepped. */
  take(grads: Gradients, lastOfEpoch: boolean): boolean;
  /** Frees the gradients held for a later step (the run stops on an error). */
  discard(): void;
}

/**
 * The strategy of a run: SAM when `options.samRho` is set, accumulation when `options.accumulationSteps` > 1 (fit
 * refuses both at once), plain steps otherwise. `rng` is the run's generator (SAM rewinds it between its passes).
 */
export function stepStrategy<T>(run: CheckedFitOptions<T>, rng: Rng): StepStrategy {
  const { o, optimizer, accumulate } = run;
  const apply = (grads: Gradients) => applyGradients(optimizer, grads, o.clipGradNorm);
  if (o.samRho !== undefined) return samSteps(new SAM(optimizer, { rho: o.samRho, buffers: o.buffers, rng }), apply);
  if (accumulate > 1) return accumulatedSteps(o.params, accumulate, apply);
  return plainSteps(o.params, apply);
}

/** One optimizer step per batch. */
function plainSteps(params: tf.Variable[], apply: (grads: Gradients) => void): StepStrategy {
  return {
    gradients: (loss) => lossGradients(loss, params, 'options.loss'),
    take(grads) {
      apply(grads);
      return true;
    },
    discard() {},
  };
}

/**
 * timm/DeiT gradient accumulation: each micro-batch's gradients are divided by k and add up; the optimizer steps every
 * k batches, and at the epoch's last batch with what has been gathered (a shorter group, still divided by k).
 */
function accumulatedSteps(params: tf.Variable[], k: number, apply: (grads: Gradients) => void): StepStrategy {
  let accumulated: Gradients | null = null;
  let micro = 0;
  return {
    gradients: (loss) => lossGradients(loss, params, 'options.loss'),
    take(grads, lastOfEpoch) {
      const previous: Gradients | null = accumulated;
      const next: Gradients = {};
      for (const [name, g] of Object.entries(grads)) {
        next[name] = tf.tidy(() => {
          const scaled = tf.div(g, k);
          return previous?.[name] ? tf.add(previous[name]!, scaled) : scaled;
        });
      }
      if (previous) tf.dispose(Object.values(previous));
      tf.dispose(Object.values(grads));
      accumulated = next;
      micro++;
      if (micro === k || lastOfEpoch) {
        const full = accumulated;
        accumulated = null;
        micro = 0;
        apply(full);
        return true;
      }
      return false;
    },
    discard() {
      if (accumulated) tf.dispose(Object.values(accumulated));
      accumulated = null;
      micro = 0;
    },
  };
}

/**
 * SAM steps: both passes see the same batch and the same random draws (SAM rewinds the run's generator before the
 * second pass), and the BatchNorm statistics (buffers) move once per step, at the unperturbed weights.
 */
function samSteps(sam: SAM, apply: (grads: Gradients) => void): StepStrategy {
  return {
    gradients: (loss) => sam.gradients(loss, 'options.loss'),
    take(grads) {
      apply(grads);
      return true;
    },
    discard() {},
  };
}

/** The one clip-and-step path: clips to the global norm when asked, steps, and frees every gradient it was given or made. */
function applyGradients(optimizer: Optimizer, grads: Gradients, clipGradNorm: number | undefined): void {
  let used = grads;
  try {
    if (clipGradNorm !== undefined) {
      const clipped = clipGradNormOnDevice(grads, clipGradNorm);
      clipped.totalNorm.dispose();
      used = clipped.grads;
    }
    optimizer.step(used);
  } finally {
    if (used !== grads) tf.dispose(Object.values(used));
    tf.dispose(Object.values(grads));
  }
}

/**
 * One batch: its loss and gradients (the batch is freed right after), the loss read back asynchronously, then the
 * gradients handed to the strategy. A loss that throws or is not finite stops the run with the model as it was before
 * this batch: nothing is stepped, held gradients are freed, and the buffers (BatchNorm statistics) are put back.
 */
export async function trainStep<T>(
  strategy: StepStrategy,
  run: CheckedFitOptions<T>,
  batch: T,
  ctx: StepContext,
): Promise<{ loss: number; stepped: boolean }> {
  const { o, dispose } = run;
  // The buffers (BatchNorm statistics) before this batch, put back if its loss is not finite.
  const savedBuffers = o.buffers ? snapshotBuffers(o.buffers) : null;
  let lossTensor: tf.Scalar;
  let grads: Gradients;
  try {
    ({ value: lossTensor, grads } = strategy.gradients(() => checkedLoss(o.loss(batch, ctx))));
  } catch (error) {
    strategy.discard();
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
  } catch (error) {
    // a failed read (a lost device) frees this batch's gradients and leaves the model as it was
    tf.dispose(Object.values(grads));
    strategy.discard();
    savedBuffers?.restore();
    savedBuffers?.dispose();
    throw error;
  } finally {
    lossTensor.dispose();
  }
  if (!Number.isFinite(value)) {
    tf.dispose(Object.values(grads));
    strategy.discard();
    savedBuffers?.restore();
    savedBuffers?.dispose();
    throw invalid(
      'NON_FINITE',
      'loss',
      'a finite training loss',
      `${value} at epoch ${ctx.epoch}, batch ${ctx.batchIndex} (lr ${ctx.lr}); no update was applied`,
    );
  }
  savedBuffers?.dispose();
  const stepped = strategy.take(grads, ctx.batchIndex === ctx.batchesPerEpoch - 1);
  return { loss: value, stepped };
}

/** The learning rate of the next step: the schedule's at this epoch or step (when there is one), checked. */
export function stepLearningRate<T>(run: CheckedFitOptions<T>, epoch: number, step: number): number {
  const { o, optimizer, unit } = run;
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
  const lr = optimizer.lr;
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw invalid('INVALID_ARGUMENT', 'options.optimizer.lr', 'a finite learning rate >= 0', describeValue(lr));
  }
  return lr;
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
