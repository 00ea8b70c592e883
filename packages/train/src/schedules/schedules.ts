import { checkNumber, checkOptions, describeValue, invalid, type OptionsSpec } from '@distillery/tensor';

/**
 * A learning-rate schedule: the learning rate at step (or epoch) t = 0, 1, 2, …. Whether t counts optimizer steps or
 * epochs is the caller's choice (the training loop's `scheduleUnit`), as with torch schedulers stepped per iteration
 * or per epoch. Values equal torch's `optimizer.param_groups[0]['lr']` after t calls of `scheduler.step()`.
 */
export type LRSchedule = (t: number) => number;

export interface StepLROptions {
  stepSize: number;
  gamma?: number;
}

export interface MultiStepLROptions {
  milestones: number[];
  gamma?: number;
}

export interface CosineAnnealingLROptions {
  tMax: number;
  etaMin?: number;
}

export interface LinearLROptions {
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
}

export interface WarmupCosineLROptions {
  totalSteps: number;
  warmupSteps?: number;
  warmupLrInit?: number;
  minLr?: number;
}

/** An options object that must be given (it has a required key): checked by the shared strict-options helper. */
function required<T extends object>(options: T, spec: OptionsSpec<T>): T {
  if (options === undefined) throw invalid('INVALID_ARGUMENT', 'options', 'an options object', 'undefined');
  return checkOptions<T>(options, spec);
}

function time(t: number): number {
  return checkNumber(t, 't', { min: 0 });
}

/** Constant learning rate. */
export function constantLR(lr: number): LRSchedule {
  checkNumber(lr, 'lr', { min: 0 });
  return (t) => {
    time(t);
    return lr;
  };
}

/** torch StepLR: lr·γ^⌊t/stepSize⌋ (γ default 0.1). */
export function stepLR(lr: number, options: StepLROptions): LRSchedule {
  checkNumber(lr, 'lr', { min: 0 });
  const o = required(options, { stepSize: true, gamma: true });
  const s = checkNumber(o.stepSize, 'options.stepSize', { min: 1, integer: true });
  const g = checkNumber(o.gamma ?? 0.1, 'options.gamma', { min: 0 });
  return (t) => lr * g ** Math.floor(time(t) / s);
}

/** torch MultiStepLR: lr·γ^(number of milestones ≤ t) (γ default 0.1). */
export function multiStepLR(lr: number, options: MultiStepLROptions): LRSchedule {
  checkNumber(lr, 'lr', { min: 0 });
  const o = required(options, { milestones: true, gamma: true });
  if (!Array.isArray(o.milestones)) {
    throw invalid('INVALID_ARGUMENT', 'options.milestones', 'an array of epochs', describeValue(o.milestones));
  }
  const ms = o.milestones.map((m, i) => checkNumber(m, `options.milestones[${i}]`, { min: 0, integer: true }));
  const g = checkNumber(o.gamma ?? 0.1, 'options.gamma', { min: 0 });
  return (t) => {
    const tt = time(t);
    return lr * g ** ms.filter((m) => m <= tt).length;
  };
}

/** torch CosineAnnealingLR (closed form): η_min + (lr − η_min)·(1 + cos(π·t/T_max))/2. */
export function cosineAnnealingLR(lr: number, options: CosineAnnealingLROptions): LRSchedule {
  checkNumber(lr, 'lr', { min: 0 });
  const o = required(options, { tMax: true, etaMin: true });
  const T = checkNumber(o.tMax, 'options.tMax', { min: 1 });
  const etaMin = checkNumber(o.etaMin ?? 0, 'options.etaMin', { min: 0 });
  return (t) => etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * time(t)) / T))) / 2;
}

/**
 * torch LinearLR (linear warm-up): lr·(s + (e − s)·min(t, n)/n) with s = startFactor (1/3), e = endFactor (1),
 * n = totalIters (5).
 */
export function linearLR(lr: number, options: LinearLROptions = {}): LRSchedule {
  checkNumber(lr, 'lr', { min: 0 });
  const o = checkOptions<LinearLROptions>(options, { startFactor: true, endFactor: true, totalIters: true });
  const s = checkNumber(o.startFactor ?? 1 / 3, 'options.startFactor', { min: 0, minExclusive: true, max: 1 });
  const e = checkNumber(o.endFactor ?? 1, 'options.endFactor', { min: 0, max: 1 });
  const n = checkNumber(o.totalIters ?? 5, 'options.totalIters', { min: 1, integer: true });
  return (t) => lr * (s + ((e - s) * Math.min(time(t), n)) / n);
}

export interface OneCycleOptions {
  totalSteps: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
}

/**
 * torch OneCycleLR (Smith & Topin 2018): from maxLr/divFactor up to maxLr over pctStart·totalSteps − 1 steps, then
 * down to initial/finalDivFactor at step totalSteps − 1 (three-phase: back to initial first, then to the minimum).
 * Defaults as torch: pctStart 0.3, 'cos', divFactor 25, finalDivFactor 1e4, threePhase false. Only the learning rate
 * is scheduled: torch's momentum cycling (cycle_momentum) is not reproduced.
 */
export function oneCycleLR(maxLr: number, options: OneCycleOptions): LRSchedule {
  checkNumber(maxLr, 'maxLr', { min: 0 });
  const o = required(options, {
    totalSteps: true,
    pctStart: true,
    annealStrategy: ['cos', 'linear'],
    divFactor: true,
    finalDivFactor: true,
    threePhase: [true, false],
  });
  const total = checkNumber(o.totalSteps, 'options.totalSteps', { min: 2, integer: true });
  const pct = checkNumber(o.pctStart ?? 0.3, 'options.pctStart', { min: 0, max: 1 });
  const div = checkNumber(o.divFactor ?? 25, 'options.divFactor', { min: 0, minExclusive: true });
  const finalDiv = checkNumber(o.finalDivFactor ?? 1e4, 'options.finalDivFactor', { min: 0, minExclusive: true });
  const strategy = o.annealStrategy ?? 'cos';
  const anneal =
    strategy === 'cos'
      ? (a: number, b: number, p: number) => b + ((a - b) / 2) * (Math.cos(Math.PI * p) + 1)
      : (a: number, b: number, p: number) => (b - a) * p + a;
  const initial = maxLr / div;
  const minLr = initial / finalDiv;
  const phases = o.threePhase
    ? [
        { end: pct * total - 1, from: initial, to: maxLr },
        { end: 2 * pct * total - 2, from: maxLr, to: initial },
        { end: total - 1, from: initial, to: minLr },
      ]
    : [
        { end: pct * total - 1, from: initial, to: maxLr },
        { end: total - 1, from: maxLr, to: minLr },
      ];
  return (t) => {
    const step = time(t);
    if (step > total) {
      throw invalid('OUT_OF_RANGE', 't', `at most totalSteps = ${total}`, String(step));
    }
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const ph = phases[i]!;
      if (step <= ph.end || i === phases.length - 1) {
        return anneal(ph.from, ph.to, (step - start) / (ph.end - start));
      }
      start = ph.end;
    }
    return minLr;
  };
}

/** torch SequentialLR: schedule i runs from milestone i−1 on, with its own t restarting at 0. */
export function sequentialLR(schedules: LRSchedule[], milestones: number[]): LRSchedule {
  if (!Array.isArray(schedules) || schedules.length === 0) {
    throw invalid('INVALID_ARGUMENT', 'schedules', 'a non-empty array of schedules', describeValue(schedules));
  }
  schedules.forEach((f, i) => {
    if (typeof f !== 'function')
      throw invalid('INVALID_ARGUMENT', `schedules[${i}]`, 'a schedule (t) => lr', describeValue(f));
  });
  if (!Array.isArray(milestones)) {
    throw invalid('INVALID_ARGUMENT', 'milestones', 'an array of steps', describeValue(milestones));
  }
  if (milestones.length !== schedules.length - 1) {
    throw invalid('INVALID_ARGUMENT', 'milestones', `${schedules.length - 1} milestones`, String(milestones.length));
  }
  for (const [i, m] of milestones.entries()) {
    checkNumber(m, `milestones[${i}]`, { min: i === 0 ? 0 : milestones[i - 1]!, integer: true });
  }
  return (t) => {
    const tt = time(t);
    let k = 0;
    while (k < milestones.length && tt >= milestones[k]!) k++;
    return schedules[k]!(k === 0 ? tt : tt - milestones[k - 1]!);
  };
}

/**
 * Linear warm-up then cosine decay (timm CosineLRScheduler with `warmup_t`, `warmup_lr_init`, `lr_min`, one cycle,
 * warmup_prefix False, as DeiT/DeiT-LT: warm-up 5 epochs, min lr 1e-5):
 *
 *     t < warmup:  warmupLrInit + t·(lr − warmupLrInit)/warmup
 *     t < T:       minLr + ½(lr − minLr)(1 + cos(π·t/T))
 *     t ≥ T:       minLr
 */
export function warmupCosineLR(lr: number, options: WarmupCosineLROptions): LRSchedule {
  checkNumber(lr, 'lr', { min: 0 });
  const o = required(options, { totalSteps: true, warmupSteps: true, warmupLrInit: true, minLr: true });
  const T = checkNumber(o.totalSteps, 'options.totalSteps', { min: 1 });
  const W = checkNumber(o.warmupSteps ?? 0, 'options.warmupSteps', { min: 0 });
  const init = checkNumber(o.warmupLrInit ?? 0, 'options.warmupLrInit', { min: 0 });
  const minLr = checkNumber(o.minLr ?? 0, 'options.minLr', { min: 0 });
  return (t) => {
    const tt = time(t);
    if (tt < W) return init + (tt * (lr - init)) / W;
    if (tt >= T) return minLr;
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos((Math.PI * tt) / T));
  };
}

/** An epoch schedule evaluated per step: lr at step s = schedule(floor(s / stepsPerEpoch)). */
export function perEpoch(schedule: LRSchedule, stepsPerEpoch: number): LRSchedule {
  if (typeof schedule !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'schedule', 'a schedule (t) => lr', describeValue(schedule));
  }
  const n = checkNumber(stepsPerEpoch, 'stepsPerEpoch', { min: 1, integer: true });
  return (t) => schedule(Math.floor(time(t) / n));
}
