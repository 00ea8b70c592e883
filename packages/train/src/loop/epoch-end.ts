import { invalid, type Rng } from '@distillery/tensor';
import { saveCheckpoint } from './checkpoint';
import type { CheckedFitOptions, EpochRecord } from './fit-options';
import type { ProgressReporter } from './progress';

/** What the loop hands over at an epoch's end. */
export interface EpochSummary {
  epoch: number;
  /** Optimizer steps after this epoch. */
  step: number;
  /** Sum of the epoch's batch losses, and the number of batches. */
  total: number;
  batches: number;
  /** The learning rate of the epoch's last step. */
  lr: number;
  /** Date.now() at the epoch's start. */
  started: number;
}

/**
 * The end of an epoch: its record (mean loss, lr, time, and the numbers of `options.evaluate`) joins the history,
 * the progress display and the JSON-lines log; the checkpoint is written every `checkpointEvery` epochs and after the
 * last; then `options.onEpochEnd` sees the record.
 */
export async function endEpoch<T>(
  run: CheckedFitOptions<T>,
  summary: EpochSummary,
  state: { history: EpochRecord[]; rng: Rng; progress: ProgressReporter },
): Promise<void> {
  const { o, optimizer, epochs, every } = run;
  const { epoch, step } = summary;
  const { history, rng, progress } = state;
  const record: EpochRecord = {
    epoch,
    step,
    loss: summary.total / summary.batches,
    lr: summary.lr,
    seconds: (Date.now() - summary.started) / 1000,
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
