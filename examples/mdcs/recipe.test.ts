import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('mdcs');

const out = mkdtempSync(path.join(tmpdir(), 'distillery-mdcs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('mdcs recipe (smoke)', () => {
  it('trains the CE baseline and the three-expert models and writes metrics, report and weights', async () => {
    await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const inUnit = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
    expect(metrics.trainCounts).toHaveLength(10);
    expect(metrics.trainCounts[0]).toBeGreaterThan(metrics.trainCounts[9]);
    for (const key of ['ce', 'diversity', 'mdcs']) {
      const m = metrics.models[key];
      for (const g of ['overall', 'head', 'mid', 'tail']) expect(inUnit(m[g])).toBe(true);
      expect(m.perClass).toHaveLength(10);
    }
    expect(metrics.models.ce.experts).toBeUndefined();
    expect(metrics.models.mdcs.experts).toHaveLength(3);
    for (const e of metrics.models.mdcs.experts) expect(inUnit(e.tail)).toBe(true);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    for (const name of ['single expert, CE', '3 experts, diversity loss only', '3 experts, MDCS', 'expert 3']) {
      expect(html).toContain(name);
    }
    for (const w of ['single-expert-ce', 'experts-diversity', 'experts-mdcs']) {
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
    }
  }, 120_000);

  it('rejects an unsupported --data', async () => {
    await expect(
      runRecipe(recipe, { backend: 'wasm', smoke: true, data: 'cifar10', out, progress: 'none', print: () => {} }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
