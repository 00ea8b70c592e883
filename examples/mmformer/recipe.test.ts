import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('mmformer');

const out = mkdtempSync(path.join(tmpdir(), 'mmformer-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('mmformer recipe (smoke)', () => {
  it('trains MFT and MMFormer on HSI + LiDAR pairs and reports OA, AA and kappa', async () => {
    const outcome = await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const metrics = outcome.metrics as Record<string, { OA: number; AA: number; kappa: number; perClass: number[] }>;
    expect(Object.keys(metrics)).toEqual(['MFT', 'MMFormer']);
    for (const m of Object.values(metrics)) {
      for (const v of [m.OA, m.AA]) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      // κ lies in [−1, 1] and is below OA for a balanced test set.
      expect(m.kappa).toBeGreaterThanOrEqual(-1);
      expect(m.kappa).toBeLessThanOrEqual(m.OA);
      expect(m.perClass).toHaveLength(6);
    }
    expect(outcome.report.table!.rows.map((r) => r[0])).toEqual(['MFT', 'MMFormer']);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).MMFormer).toBeDefined();
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    for (const w of ['mft', 'mmformer']) expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
  }, 120_000);
});
