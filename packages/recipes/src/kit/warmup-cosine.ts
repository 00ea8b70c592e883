import { checkNumber, checkOptions } from '@distillery/tensor/errors';
import { type LRSchedule, warmupCosineLR } from '@distillery/train';

export interface WarmupCosineOptions {
  /** Peak learning rate. */
  lr: number;
  /** Epochs of the run (the schedule's length). */
  epochs: number;
  /** Warm-up epochs, capped at epochs − 1 so a short (smoke) run still decays. */
  warmupEpochs: number;
  /** Learning rate at the start of the warm-up (default 0). */
  warmupLrInit?: number;
  /** Floor of the cosine (default 0). */
  minLr?: number;
}

/**
 * The per-epoch schedule of the recipes: linear warm-up over min(warmupEpochs, epochs − 1) epochs from
 * `warmupLrInit`, then cosine decay to `minLr` (warmupCosineLR of @distillery/train, timm CosineLRScheduler).
 */
export function warmupCosine(options: WarmupCosineOptions): LRSchedule {
  const o = checkOptions<WarmupCosineOptions>(options ?? null, {
    lr: true,
    epochs: true,
    warmupEpochs: true,
    warmupLrInit: true,
    minLr: true,
  });
  const epochs = checkNumber(o.epochs, 'options.epochs', { min: 1, integer: true });
  const warmup = checkNumber(o.warmupEpochs, 'options.warmupEpochs', { min: 0, integer: true });
  return warmupCosineLR(checkNumber(o.lr, 'options.lr', { min: 0 }), {
    totalSteps: epochs,
    warmupSteps: Math.min(warmup, epochs - 1),
    ...(o.warmupLrInit !== undefined ? { warmupLrInit: o.warmupLrInit } : {}),
    ...(o.minLr !== undefined ? { minLr: o.minLr } : {}),
  });
}
