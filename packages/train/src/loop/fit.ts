import { batchIndices } from '@distillery/samplers';
import { Rng } from '@distillery/tensor';
import { endEpoch } from './epoch-end';
import { checkFitOptions, type EpochRecord, type FitOptions, type StepContext } from './fit-options';
import { ProgressReporter } from './progress';
import { resumeRun } from './resume';
import { stepLearningRate, stepStrategy, trainStep } from './steps';

export type { EpochRecord, FitOptions, StepContext };

/**
 * A small training loop: sampler → batches → loss → (SAM) gradients → clipping → optimizer step → EMA, with the LR
 * schedule, per-epoch evaluation, a progress bar (TTY) or plain lines, JSON-lines logs and atomic checkpoints
 * (weights + optimizer state + RNG state + epoch). Resuming from a checkpoint written after epoch e continues with
 * epoch e+1 exactly as the uninterrupted run would (same batches, same RNG stream, same optimizer state), so the
 * losses are identical; a run killed mid-epoch loses only that epoch.
 */
export async function fit<T>(options: FitOptions<T>): Promise<{ history: EpochRecord[]; startEpoch: number }> {
  const run = checkFitOptions(options);
  const { o, optimizer, epochs, batchSize } = run;
  const start = await resumeRun(o, optimizer);
  const { startEpoch, history } = start;
  let step = start.step;
  const rng = start.rng ?? new Rng(run.seed);
  const strategy = stepStrategy(run, rng);
  const progress = new ProgressReporter(o.progress ?? 'auto', epochs);
  try {
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const started = Date.now();
      const batches = batchIndices(o.sampler.indices(epoch), batchSize, { dropLast: o.dropLast });
      let total = 0;
      let lr = optimizer.lr;
      for (let b = 0; b < batches.length; b++) {
        lr = stepLearningRate(run, epoch, step);
        const ctx: StepContext = { epoch, step, batchIndex: b, batchesPerEpoch: batches.length, rng, lr };
        const { loss, stepped } = await trainStep(strategy, run, await o.data.batch(batches[b]!), ctx);
        if (stepped) {
          step++;
          o.ema?.update();
        }
        total += loss;
        progress.batch(epoch, b + 1, batches.length, loss);
        await o.onBatchEnd?.({ ...ctx, step, loss });
        await yieldToEventLoop();
      }
      await endEpoch(run, { epoch, step, total, batches: batches.length, lr, started }, { history, rng, progress });
    }
  } finally {
    progress.done();
  }
  return { history, startEpoch };
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
