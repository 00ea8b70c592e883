import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('gp-maml');

const out = mkdtempSync(path.join(tmpdir(), 'distillery-few-shot-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const MODELS = [
  'MAML',
  'MAML + GP at test only',
  'GP-MAML',
  'ANIL',
  'ANIL + GP at test only',
  'GP-ANIL',
  'BOIL',
  'BOIL + GP at test only',
  'GP-BOIL',
];

describe('few-shot recipe (smoke)', () => {
  it('meta-trains MAML / ANIL / BOIL with and without GP and writes metrics, report and weights', async () => {
    await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const inUnit = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
    expect(metrics.setting).toMatchObject({ nWay: 5, kShot: 1 });
    expect(Object.keys(metrics.models).sort()).toEqual([...MODELS].sort());
    for (const m of Object.values(metrics.models) as { mean: number; ci95: number; std: number }[]) {
      expect(inUnit(m.mean)).toBe(true);
      expect(inUnit(m.ci95)).toBe(true);
      expect(m.ci95).toBeCloseTo((1.96 * m.std) / Math.sqrt(metrics.setting.testEpisodes), 10);
    }
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    for (const name of MODELS) expect(html).toContain(name);
    for (const w of ['maml', 'anil', 'boil', 'gp-maml', 'gp-anil', 'gp-boil']) {
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
    }
  }, 120_000);

  it('rejects an unsupported --data', async () => {
    await expect(
      runRecipe(recipe, { backend: 'wasm', smoke: true, data: 'omniglot', out, progress: 'none', print: () => {} }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
