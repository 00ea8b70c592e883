import { checkEnum, checkNumber, checkOptions } from '@distillery/tensor';

export interface RhoScheduleOptions {
  /** ρ at the start (`rho_base`), default 0.1. */
  base?: number;
  /** ρ at the end (`rho_upper`), default 1. */
  upper?: number;
  /** 'sigmoid' (default, `sigmoid_rampup`) or 'linear' (`linear_rampup`). */
  kind?: 'sigmoid' | 'linear';
}

/**
 * Progressive ρ of P²OT (rhfeiyang/PPOT losses/losses.py; losses/ramps.py `sigmoid_rampup` / `linear_rampup`):
 *
 *     sigmoid: ρ(t) = base + (upper − base)·exp(−5·(1 − t/T)²)
 *     linear:  ρ(t) = base + (upper − base)·t/T
 *     t clipped to [0, T]; T = 0 gives upper.
 *
 * Defaults (official): base 0.1, upper 1, sigmoid. ρ(0) ≈ 0.106, ρ(T) = 1.
 */
export function rhoSchedule(step: number, total: number, options: RhoScheduleOptions = {}): number {
  options = checkOptions<RhoScheduleOptions>(options, { base: true, upper: true, kind: ['sigmoid', 'linear'] });
  checkNumber(step, 'step');
  checkNumber(total, 'total', { min: 0 });
  const base = options.base === undefined ? 0.1 : checkNumber(options.base, 'options.base', { min: 0, max: 1 });
  const upper = options.upper === undefined ? 1 : checkNumber(options.upper, 'options.upper', { min: 0, max: 1 });
  const kind = checkEnum(options.kind ?? 'sigmoid', 'options.kind', ['sigmoid', 'linear'] as const);
  if (total === 0) return upper;
  const t = Math.min(Math.max(step, 0), total);
  const ramp = kind === 'linear' ? t / total : Math.exp(-5 * (1 - t / total) ** 2);
  return base + (upper - base) * ramp;
}
