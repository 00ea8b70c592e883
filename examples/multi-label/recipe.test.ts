import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('scpnet');

const out = mkdtempSync(path.join(tmpdir(), 'multi-label-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const MODELS = [
  'assume negative (BCE)',
  'SPLC',
  'SCPNet (prior GCN + pseudo-labels)',
  'SCPNet without the prior',
  'full labels (BCE, upper bound)',
];

describe('multi-label recipe (smoke)', () => {
  it('trains AN-BCE, SPLC, SCPNet (with and without the prior) and full-label BCE and reports mAP', async () => {
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
    // scpnet.py writes every batch row into selected_label (each holds its observed positive): after an epoch
    // every training image has at least one pseudo-positive (the old mask-only update could leave rows empty)
    for (const trace of [outcome.metrics.pseudoPositivesPerImage, outcome.metrics.pseudoPositivesPerImageNoPrior]) {
      for (const v of trace as number[]) expect(v).toBeGreaterThanOrEqual(1);
    }
    const data = outcome.metrics.data as { labelsPerImage: number; cooccurrence: number[][]; scenes: number[][] };
    expect(data.labelsPerImage).toBeGreaterThan(1);
    // the data has co-occurrence structure: P(j | i) is far higher for digits of one scene than across scenes
    const together = (a: number, b: number) => data.scenes.some((sc) => sc.includes(a) && sc.includes(b));
    const within: number[] = [];
    const across: number[] = [];
    data.cooccurrence.forEach((row, a) => {
      row.forEach((p, b) => {
        if (a !== b) (together(a, b) ? within : across).push(p);
      });
    });
    const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    expect(mean(within)).toBeGreaterThan(4 * mean(across));
    expect(outcome.report.table!.rows.map((r) => r[0])).toEqual(MODELS);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).mAP).toBeDefined();
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    for (const w of ['an-bce', 'splc', 'scpnet', 'scpnet-no-prior', 'scpnet-gcn', 'scpnet-no-prior-gcn', 'full-bce']) {
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
    }
  }, 120_000);
});
