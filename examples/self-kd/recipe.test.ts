import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('uskd');

const out = mkdtempSync(path.join(tmpdir(), 'distillery-self-kd-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('self-kd recipe (smoke)', () => {
  it('trains the CE and the USKD ViT and writes metrics, report and weights', async () => {
    await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const inUnit = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
    for (const key of ['ce', 'uskd']) {
      expect(inUnit(metrics[key].mean)).toBe(true);
      expect(metrics[key].runs).toHaveLength(1);
      expect(inUnit(metrics[key].runs[0].top1)).toBe(true);
    }
    expect(Number.isFinite(metrics.gain)).toBe(true);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    for (const name of ['ViT, CE', 'ViT, CE + USKD', 'Zipf non-target']) expect(html).toContain(name);
    for (const w of ['vit-ce', 'vit-uskd', 'uskd-weak-head']) {
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
    }
  }, 120_000);

  it('rejects an unsupported --data', async () => {
    await expect(
      runRecipe(recipe, { backend: 'wasm', smoke: true, data: 'cifar10', out, progress: 'none', print: () => {} }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
