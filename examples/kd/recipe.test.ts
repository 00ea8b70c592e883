import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = getRecipe('kd');

const out = mkdtempSync(path.join(tmpdir(), 'distillery-kd-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('kd recipe (smoke)', () => {
  it('trains a teacher and five students and writes metrics, report and weights', async () => {
    const lines: string[] = [];
    await runRecipe(recipe, { backend: 'wasm', smoke: true, out, progress: 'none', print: (l) => lines.push(l) });
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const inUnit = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
    expect(inUnit(metrics.teacher.top1)).toBe(true);
    expect(Object.keys(metrics.students).sort()).toEqual(['ce', 'clkd', 'dkd', 'kd', 'nkd']);
    for (const s of Object.values(metrics.students) as {
      top1: number;
      agreementWithTeacher: number;
      perClass: number[];
    }[]) {
      expect(inUnit(s.top1)).toBe(true);
      expect(inUnit(s.agreementWithTeacher)).toBe(true);
      expect(s.perClass).toHaveLength(10);
    }
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    for (const name of ['ResNet teacher', 'CE (no teacher)', 'KD', 'DKD', 'NKD', 'CLKD']) expect(html).toContain(name);
    for (const w of ['teacher', 'student-ce', 'student-kd', 'student-dkd', 'student-nkd', 'student-clkd']) {
      expect(existsSync(path.join(out, 'weights', `${w}.safetensors`))).toBe(true);
    }
  }, 120_000);

  it('rejects an unsupported --data', async () => {
    await expect(
      runRecipe(recipe, { backend: 'wasm', smoke: true, data: 'cifar10', out, progress: 'none', print: () => {} }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
