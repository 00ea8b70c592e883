import { readFileSync } from 'node:fs';
import { type OtEngine, partialWasserstein, sinkhorn, sinkhornUnbalanced } from '@distillery/ot';
import { tf } from '@distillery/tensor';
import { expectClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';

interface Case {
  kind: 'sinkhorn' | 'unbalanced' | 'partial';
  name: string;
  a: number[];
  b: number[];
  cost: number[];
  n: number;
  k: number;
  reg: number;
  regMarginals?: number;
  mass?: number;
  maxIter: number;
  tol: number;
  plan: number[];
  iterations: number;
  converged: boolean;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/sinkhorn-pot.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

function solve(c: Case, engine: OtEngine) {
  const cost = tf.tensor2d(c.cost, [c.n, c.k]);
  try {
    const common = { reg: c.reg, maxIter: c.maxIter, tol: c.tol, engine };
    if (c.kind === 'sinkhorn') return sinkhorn(c.a, c.b, cost, common);
    if (c.kind === 'unbalanced')
      return sinkhornUnbalanced(c.a, c.b, cost, { ...common, regMarginals: c.regMarginals! });
    return partialWasserstein(c.a, c.b, cost, { ...common, mass: c.mass! });
  } finally {
    cost.dispose();
  }
}

describe('sinkhorn family vs POT (float64 engine)', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: plan to 1e-5 relative, iterations exact`, () => {
      const r = solve(c, 'float64');
      const plan = r.plan.dataSync();
      r.plan.dispose();
      const scale = Math.max(...c.plan);
      expectClose(plan, c.plan, 1e-5, 1e-6 * scale);
      expect(Math.abs(r.iterations - c.iterations)).toBeLessThanOrEqual(1);
      expect(r.converged).toBe(c.converged);
      expect(Number.isFinite(r.marginalError)).toBe(true);
      if (c.kind === 'sinkhorn' && c.converged) expect(r.marginalError).toBeLessThan(10 * c.tol);
    });
  }
});

describe('sinkhorn family on the tfjs backend engine (float32 log-domain)', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: finite, plan within 1e-4 of POT`, () => {
      const r = solve(c, 'backend');
      const plan = r.plan.dataSync();
      r.plan.dispose();
      for (const v of plan) expect(Number.isFinite(v)).toBe(true);
      const scale = Math.max(...c.plan);
      // reg = 1e-3 puts |M/reg| near 1e3 in float32: relative resolution ~1e3·6e-8.
      expectClose(plan, c.plan, c.reg < 0.01 ? 1e-3 : 1e-4, (c.reg < 0.01 ? 1e-3 : 1e-4) * scale);
    });
  }
});
