import { DistilleryError, type Rng } from '@distillery/tensor';
import type { Optimizer } from '../optim/types';
import { loadCheckpoint, removeStaleTemporaries, restoreCheckpoint } from './checkpoint';
import type { EpochRecord, FitOptions } from './fit-options';

/** Where a run starts: from scratch, or where its checkpoint left off. */
export interface RunStart {
  startEpoch: number;
  /** Optimizer steps taken before startEpoch. */
  step: number;
  history: EpochRecord[];
  /** The run's generator as checkpointed (absent: start from the seed). */
  rng?: Rng;
}

/**
 * With `resume`, removes the temporaries that a killed save left next to the checkpoint and, when the checkpoint
 * exists, restores from it the weights, optimizer, EMA, buffers and host state (`options.state`) in place, and
 * returns the epoch, step, history and generator to continue from. Otherwise: a fresh start.
 */
export async function resumeRun<T>(o: FitOptions<T>, optimizer: Optimizer): Promise<RunStart> {
  const start: RunStart = { startEpoch: 0, step: 0, history: [] };
  if (o.resume && o.checkpoint) await removeStaleTemporaries(o.checkpoint);
  if (o.resume && o.checkpoint && (await exists(o.checkpoint))) {
    const ckpt = await loadCheckpoint(o.checkpoint);
    const restored = restoreCheckpoint(
      ckpt,
      { params: o.params, optimizer, ema: o.ema, buffers: o.buffers },
      o.checkpoint,
    );
    if (restored.rng) start.rng = restored.rng;
    start.startEpoch = restored.meta.epoch;
    start.step = restored.meta.step;
    start.history = (restored.meta.history as EpochRecord[]) ?? [];
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
  return start;
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
