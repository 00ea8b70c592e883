import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { describe, expect, it } from 'vitest';

const recipe = getRecipe('deit-lt');

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

describe('deit-lt recipe', () => {
  it('runs in smoke mode and writes every output', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'deit-lt-smoke-'));
    const outcome = await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: () => {} });
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const if10 = metrics.imbalanceFactors['10'];
    expect(if10.trainCounts).toHaveLength(10);
    const models = [
      'CNN teacher (LDAM-DRW + SAM)',
      'ViT, CE',
      'DeiT-LT student',
      'DeiT-LT CLS head',
      'DeiT-LT DIST head',
    ];
    for (const model of models) {
      for (const key of ['overall', 'head', 'mid', 'tail']) {
        expect(if10[model][key]).toBeGreaterThanOrEqual(0);
        expect(if10[model][key]).toBeLessThanOrEqual(1);
      }
    }
    expect(outcome.report.table?.rows.map((r) => r[1])).toEqual([
      'CNN teacher (LDAM-DRW + SAM)',
      'ViT, CE',
      'DeiT-LT student',
      '  DeiT-LT CLS head',
      '  DeiT-LT DIST head',
    ]);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    for (const name of ['deit-lt-if10', 'vit-ce-if10', 'teacher-if10']) {
      expect(existsSync(path.join(out, 'weights', `${name}.safetensors`))).toBe(true);
    }
    rmSync(out, { recursive: true, force: true });
  });

  // The flagship's ordering on a reduced budget (12 of its 30 epochs, about a minute on 2 cores), through the built
  // CLI in plain Node, as a user runs it.
  it('12 epochs, seed 0: the DeiT-LT student beats the plain-CE ViT on tail accuracy (mean over IF 10 and IF 100)', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'deit-lt-full-'));
    await run(
      process.execPath,
      [
        path.join(root, 'packages/cli/dist/bin.js'),
        'run',
        'deit-lt',
        '--backend',
        'wasm',
        '--seed',
        '0',
        '--epochs',
        '12',
        '--out',
        out,
        '--progress',
        'none',
      ],
      {
        cwd: root,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const meanTail = (model: string) =>
      (metrics.imbalanceFactors['10'][model].tail + metrics.imbalanceFactors['100'][model].tail) / 2;
    expect(meanTail('DeiT-LT student')).toBeGreaterThan(meanTail('ViT, CE'));
    // The teacher is the tail expert the DIST token learns from.
    expect(meanTail('CNN teacher (LDAM-DRW + SAM)')).toBeGreaterThan(meanTail('DeiT-LT student'));
    rmSync(out, { recursive: true, force: true });
  }, 660_000);
});
