import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('p2ot');

const out = mkdtempSync(path.join(tmpdir(), 'distillery-imbalanced-clustering-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const METHODS = ['k-means', 'Sinkhorn (balanced OT)', 'P²OT', 'SP²OT'];

describe('imbalanced-clustering recipe (smoke)', () => {
  it('clusters long-tailed digits with k-means, Sinkhorn, P²OT and SP²OT and writes metrics and report', async () => {
    await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const inUnit = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
    expect(metrics.imbalanceFactor).toBe(10);
    expect(metrics.counts).toHaveLength(10);
    expect(metrics.counts[0] / metrics.counts[9]).toBeGreaterThanOrEqual(9);
    expect(Object.keys(metrics.methods).sort()).toEqual([...METHODS].sort());
    for (const m of Object.values(metrics.methods) as Record<string, number | number[]>[]) {
      for (const k of ['acc', 'mAcc', 'nmi', 'f1', 'head', 'medium', 'tail']) expect(inUnit(m[k])).toBe(true);
      // ARI lies in [-1, 1]
      expect(Number.isFinite(m.ari) && (m.ari as number) >= -1 && (m.ari as number) <= 1).toBe(true);
      expect(m.perClass).toHaveLength(10);
      expect((m.clusterSizes as number[]).reduce((a, b) => a + b, 0)).toBe(metrics.numSamples);
    }
    // k-means on the PCA features is far above chance (0.1) even on the smoke subset
    expect(metrics.methods['k-means'].acc).toBeGreaterThan(0.4);
    expect(inUnit(metrics.p2otPlanTransportedMass)).toBe(true);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('P²OT plan');
    for (const name of METHODS) expect(html).toContain(name);
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(true);
  }, 120_000);

  it('rejects an unsupported --data', async () => {
    await expect(
      runRecipe(recipe, { backend: 'wasm', smoke: true, data: 'cifar10', out, progress: 'none', print: () => {} }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
