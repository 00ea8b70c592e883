import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { recipe } from './recipe.mjs';

const out = mkdtempSync(path.join(tmpdir(), 'lavit-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('lavit recipe (smoke)', () => {
  it('trains a ViT and two LaViTs, counts FLOPs, times forwards and writes the report', async () => {
    const outcome = await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const models = outcome.metrics.models as Record<
      string,
      { accuracy: number; attentionFlops: number; forwardMs: number }
    >;
    expect(Object.keys(models)).toEqual(['ViT', 'LaViT (CE + DP loss)', 'LaViT (CE only)']);
    for (const m of Object.values(models)) {
      expect(m.accuracy).toBeGreaterThanOrEqual(0);
      expect(m.accuracy).toBeLessThanOrEqual(1);
      expect(m.attentionFlops).toBeGreaterThan(0);
      expect(Number.isFinite(m.forwardMs) && m.forwardMs > 0).toBe(true);
    }
    // Smoke: 1 VA + 1 LA layer against 2 VA layers, N = 16 (LaViT) / 17 (ViT), D = 16, H = 2.
    const perLayer = outcome.metrics.attentionFlopsPerLayer as Record<
      string,
      { qkProjection: number; map: number; total: number }
    >;
    expect(perLayer.va!.qkProjection).toBe(2 * 16 * 16 * 32);
    expect(perLayer.la!.qkProjection).toBe(0);
    expect(perLayer.la!.map).toBe(4 * 2 * 16 ** 3);
    const saved = outcome.metrics.attentionFlopsSaved as number;
    // At smoke size (D = 16 < 2·H·N = 64) the N³ map transforms cost more than the Q/K they replace.
    expect(Number.isFinite(saved) && saved < 1).toBe(true);
    const rows = outcome.report.table!.rows.map((r) => r[0]);
    expect(rows).toEqual(['ViT', 'LaViT (CE + DP loss)', 'LaViT (CE only)']);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).models).toBeDefined();
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    for (const w of ['vit', 'lavit-dp', 'lavit-ce'])
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
  }, 120_000);
});
