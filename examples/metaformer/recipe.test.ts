import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('metaformer');

const out = mkdtempSync(path.join(tmpdir(), 'metaformer-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('metaformer recipe (smoke)', () => {
  it('trains MetaFormer with and without meta tokens and reports top-1 with real, zeroed and no meta', async () => {
    const outcome = await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const top1 = outcome.metrics.top1 as Record<string, number>;
    expect(Object.keys(top1).sort()).toEqual(['imageOnly', 'withMeta', 'withMetaZeroedAtTest']);
    for (const v of Object.values(top1)) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    const data = outcome.metrics.data as { missing: { date: number; place: number } };
    expect(data.missing.date).toBeGreaterThan(0.1);
    expect(data.missing.date).toBeLessThan(0.3);
    const rows = outcome.report.table!.rows;
    expect(rows.map((r) => `${r[0]} ${r[1]}`)).toEqual([
      'MetaFormer, image only —',
      'MetaFormer + meta tokens real',
      'MetaFormer + meta tokens zeroed',
    ]);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).top1).toBeDefined();
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    for (const w of ['metaformer-meta', 'metaformer-image']) {
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
    }
  }, 120_000);
});
