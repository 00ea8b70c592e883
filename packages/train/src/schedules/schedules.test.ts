import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/optim.json';
import {
  cosineAnnealingLR,
  linearLR,
  multiStepLR,
  oneCycleLR,
  perEpoch,
  sequentialLR,
  stepLR,
  warmupCosineLR,
} from './schedules';

const S = fixture.schedules;
function expectSeq(f: (t: number) => number, expected: number[]) {
  expected.forEach((v, t) => {
    expect(Math.abs(f(t) - v), `t=${t}: ${f(t)} vs ${v}`).toBeLessThanOrEqual(1e-9 + 1e-7 * Math.abs(v));
  });
}

describe('LR schedules match torch.optim.lr_scheduler', () => {
  it('StepLR, MultiStepLR, CosineAnnealingLR, LinearLR', () => {
    expectSeq(stepLR(0.1, S.step.args), S.step.lrs);
    expectSeq(multiStepLR(0.1, S.multistep.args), S.multistep.lrs);
    expectSeq(cosineAnnealingLR(0.1, S.cosine.args), S.cosine.lrs);
    expectSeq(linearLR(0.1, S.linear.args), S.linear.lrs);
  });

  it('OneCycleLR (cos; linear three-phase)', () => {
    expectSeq(oneCycleLR(0.1, S.onecycle_cos.args), S.onecycle_cos.lrs);
    expectSeq(
      oneCycleLR(0.1, S.onecycle_linear_3phase.args as Parameters<typeof oneCycleLR>[1]),
      S.onecycle_linear_3phase.lrs,
    );
    expect(() => oneCycleLR(0.1, { totalSteps: 20 })(21)).toThrow(/t/);
  });

  it('SequentialLR warm-up → cosine', () => {
    const a = S.warmup_cosine_sequential.args;
    expectSeq(
      sequentialLR(
        [linearLR(0.1, { startFactor: a.startFactor, totalIters: a.warmup }), cosineAnnealingLR(0.1, { tMax: a.tMax })],
        [a.warmup],
      ),
      S.warmup_cosine_sequential.lrs,
    );
  });

  it('timm-style warm-up cosine and per-epoch stepping', () => {
    const f = warmupCosineLR(5e-4, { totalSteps: 100, warmupSteps: 5, warmupLrInit: 1e-6, minLr: 1e-5 });
    expect(f(0)).toBe(1e-6);
    expect(f(5)).toBeCloseTo(1e-5 + 0.5 * (5e-4 - 1e-5) * (1 + Math.cos((Math.PI * 5) / 100)), 15);
    expect(f(100)).toBe(1e-5);
    const g = perEpoch(stepLR(1, { stepSize: 1, gamma: 0.5 }), 10);
    expect([g(0), g(9), g(10), g(25)]).toEqual([1, 1, 0.5, 0.25]);
    expect(() => stepLR(0.1, { stepSize: 0 })).toThrow(/options.stepSize/);
    expect(() => cosineAnnealingLR(0.1, { tMax: 10 })(-1)).toThrow(/t/);
  });
});
