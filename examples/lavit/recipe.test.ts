import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('lavit');

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
    // Smoke: N = 16 (LaViT stage 0) / 17 (ViT), D = 16, H = 2.
    const perLayer = outcome.metrics.attentionFlopsPerLayer as Record<
      string,
      { qkProjection: number; map: number; total: number }
    >;
    expect(perLayer.va!.qkProjection).toBe(2 * 16 * 16 * 32);
    expect(perLayer.la!.qkProjection).toBe(0);
    expect(perLayer.la!.map).toBe(4 * 2 * 16 ** 3);
    // Two stages, so the patch merging and the residual attention downsampling run: 16 → 4 tokens.
    const stages = outcome.metrics.lavitStages as { tokens: number; residual: number }[];
    expect(stages.map((st) => st.tokens)).toEqual([16, 4]);
    expect(stages[1]!.residual).toBe(2 * 16 * 2 * 4 * 4);
    const saved = outcome.metrics.attentionFlopsSaved as number;
    expect(Number.isFinite(saved) && saved < 1).toBe(true);
    // The cost sweep goes beyond 16 tokens and says, per stage, whether an LA layer is cheaper than a VA layer.
    const sweep = outcome.metrics.costSweep as {
      tokens: number[];
      perStage: { tokens: number; vaLayerFlops: number; laLayerFlops: number; laCheaper: boolean }[];
      allVaMs: number;
      vaLaMs: number;
    }[];
    expect(sweep.map((r) => r.tokens)).toEqual([
      [16, 4],
      [64, 16],
    ]);
    for (const r of sweep) {
      expect(r.allVaMs > 0 && r.vaLaMs > 0).toBe(true);
      for (const p of r.perStage) {
        const { tokens: n } = p;
        // cheaper exactly when 2·H·N² < 2·D² + N·D (D = 16, H = 2)
        expect(p.laCheaper).toBe(2 * 2 * n * n < 2 * 16 * 16 + n * 16);
      }
    }
    expect(outcome.metrics.costVerdict).toMatch(
      /fewer attention FLOPs than the VA layer it replaces at N = .* and more at N = /,
    );
    const rows = outcome.report.table!.rows.map((r) => r[0]);
    expect(rows).toEqual(['ViT', 'LaViT (CE + DP loss)', 'LaViT (CE only)']);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).models).toBeDefined();
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    for (const w of ['vit', 'lavit-dp', 'lavit-ce'])
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
  }, 120_000);
});
