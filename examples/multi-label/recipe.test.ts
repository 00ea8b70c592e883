import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { recipe } from './recipe.mjs';

const out = mkdtempSync(path.join(tmpdir(), 'multi-label-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const MODELS = ['assume negative (BCE)', 'SPLC', 'SCPNet (SPLC + pseudo-labels)', 'full labels (BCE, upper bound)'];

describe('multi-label recipe (smoke)', () => {
  it('trains AN-BCE, SPLC, SCPNet and full-label BCE and reports mAP', async () => {
    const outcome = await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const mAP = outcome.metrics.mAP as Record<string, number>;
    expect(Object.keys(mAP)).toEqual(MODELS);
    for (const v of Object.values(mAP)) {
      expect(Number.isFinite(v)).toBe(true);
      // mAP is at least the positive rate of a random ranking and at most 1.
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    const classwise = outcome.metrics.classwiseAcc as number[];
    expect(classwise).toHaveLength(10);
    for (const b of classwise) expect(b).toBeGreaterThanOrEqual(0.1 - 1e-12);
    const data = outcome.metrics.data as { labelsPerImage: number };
    expect(data.labelsPerImage).toBeGreaterThan(1);
    expect(outcome.report.table!.rows.map((r) => r[0])).toEqual(MODELS);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).mAP).toBeDefined();
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    for (const w of ['an-bce', 'splc', 'scpnet', 'full-bce']) {
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
    }
  }, 120_000);
});
