// Every classifier recipe wired to `--data fashion-mnist` runs in smoke mode (a stratified subset of the real Debian
// files: 20 per class for training, 10 per class for testing) through runRecipe on the wasm backend, and writes
// finite metrics; the long-tailed ones (deit-lt, mdcs) also head / mid / tail accuracies.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRecipe } from '@distillery/cli';
import { FASHION_MNIST_ROOT, FASHION_SCENES, fashionMnistFiles } from '@distillery/data';
import { getRecipe } from '@distillery/recipes';
import { afterAll, describe, expect, it } from 'vitest';

const present = (['train', 'test'] as const).every((split) => {
  const f = fashionMnistFiles(split);
  return existsSync(path.join(FASHION_MNIST_ROOT, f.images)) && existsSync(path.join(FASHION_MNIST_ROOT, f.labels));
});
if (!present && !process.env.CI) {
  console.warn(
    `Skipping the Fashion-MNIST recipe smoke runs: ${FASHION_MNIST_ROOT} is missing (dataset-fashion-mnist).`,
  );
}
describe.runIf(!present && process.env.CI)('Fashion-MNIST recipes in CI', () => {
  it('have the dataset (scripts/setup.sh installs dataset-fashion-mnist)', () => {
    expect.fail(`${FASHION_MNIST_ROOT} is missing in CI: run scripts/setup.sh (apt-get install dataset-fashion-mnist)`);
  });
});

const root = mkdtempSync(path.join(tmpdir(), 'distillery-fmnist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every number under `value`, with its path. */
function numbers(value: unknown, at = 'metrics'): [string, number][] {
  if (typeof value === 'number') return [[at, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => numbers(v, `${at}.${k}`));
}
/** Every object under `value` that has a `head` key. */
function groups(value: unknown): Record<string, unknown>[] {
  if (value === null || typeof value !== 'object') return [];
  const own = 'head' in value ? [value as Record<string, unknown>] : [];
  return [...own, ...Object.values(value).flatMap(groups)];
}
/** The recipe's Fashion-MNIST evidence names metrics its metrics.json has: every claim's, and each row's first column. */
function expectEvidenceKeys(name: string, metrics: unknown) {
  const evidence = getRecipe(name).evidence?.['fashion-mnist'];
  expect(evidence, `${name} states its Fashion-MNIST evidence`).toBeDefined();
  const keys = new Set(numbers(metrics).map(([at]) => at.replace(/^metrics\./, '')));
  // Smoke runs of deit-lt train at IF 10 only: its IF 100 keys are checked under IF 10.
  const smoke = (key: string) => key.replace(/^imbalanceFactors\.100\./, 'imbalanceFactors.10.');
  for (const c of evidence!.claims) for (const key of [c.better, c.worse]) expect(keys, c.claim).toContain(smoke(key));
  const column = evidence!.columns[0]!.key;
  for (const row of evidence!.rows) {
    expect(keys, row.label).toContain(smoke(column === '' ? row.key : `${row.key}.${column}`));
  }
}
const accuracy = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;

describe.runIf(present)('classifier recipes on --data fashion-mnist --smoke (wasm)', () => {
  for (const [name, longTailed] of [
    ['deit-lt', true],
    ['mdcs', true],
    ['kd', false],
    ['uskd', false],
    ['trg', false],
  ] as const) {
    it(`${name}: finite metrics${longTailed ? ' with head / mid / tail' : ''}, on Fashion-MNIST`, async () => {
      const out = path.join(root, name);
      const lines: string[] = [];
      await runRecipe(getRecipe(name), {
        ...{ backend: 'wasm', smoke: true, data: 'fashion-mnist', seed: 0, out, progress: 'none' },
        print: (l) => lines.push(l),
      });
      expect(lines.join('\n')).toMatch(/Fashion-MNIST/);
      const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
      const all = numbers(metrics);
      expect(all.length).toBeGreaterThan(0);
      for (const [at, v] of all) expect(Number.isFinite(v), `${at} = ${v}`).toBe(true);
      // Something is an accuracy, whatever the recipe calls it.
      const accuracies = all.filter(([at]) => /\.(top1|overall|mean)$/.test(at));
      expect(accuracies.length).toBeGreaterThan(0);
      for (const [at, v] of accuracies) expect(accuracy(v), `${at} = ${v}`).toBe(true);
      const found = groups(metrics);
      if (longTailed) {
        expect(found.length).toBeGreaterThanOrEqual(2);
        for (const g of found) for (const k of ['overall', 'head', 'mid', 'tail']) expect(accuracy(g[k])).toBe(true);
        // The training set is long-tailed: class 0 (head) has more images than class 9 (tail).
        const perFactor = Object.values(metrics.imbalanceFactors ?? {}) as { trainCounts: number[] }[];
        const counts: number[] = metrics.trainCounts ?? perFactor[0]?.trainCounts;
        expect(counts).toHaveLength(10);
        expect(counts[0]).toBeGreaterThan(counts[9] as number);
        expect(counts[0]).toBeLessThanOrEqual(20);
      }
      const html = readFileSync(path.join(out, 'report.html'), 'utf8');
      expect(html).toContain('Fashion-MNIST');
      expectEvidenceKeys(name, metrics);
    }, 180_000);
  }
});

describe.runIf(present)('p2ot (imbalanced clustering) on --data fashion-mnist --smoke (wasm)', () => {
  it('clusters a long-tailed draw of the training pool, γ chosen on a validation draw, every ACC / NMI in [0, 1]', async () => {
    const out = path.join(root, 'p2ot');
    const lines: string[] = [];
    await runRecipe(getRecipe('p2ot'), {
      ...{ backend: 'wasm', smoke: true, data: 'fashion-mnist', seed: 0, out, progress: 'none' },
      print: (l) => lines.push(l),
    });
    expect(lines.join('\n')).toMatch(/long-tailed Fashion-MNIST \(training pool\), IF 10: 78 images/);
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.data).toBe('fashion-mnist');
    expect(metrics.counts).toHaveLength(10);
    expect(metrics.counts[0]).toBe(20);
    expect(metrics.counts[0]).toBeGreaterThan(metrics.counts[9]);
    // γ is one of the grid, the best validation ACC of it (ties to the larger γ).
    const { grid, gamma, accuracies } = metrics.gammaSelection;
    expect(grid).toContain(gamma);
    expect(accuracies[grid.indexOf(gamma)]).toBe(Math.max(...accuracies));
    expect(accuracies.findIndex((a: number) => a === Math.max(...accuracies))).toBe(grid.indexOf(gamma));
    for (const method of ['k-means', 'Sinkhorn (balanced OT)', 'P²OT', 'SP²OT']) {
      for (const key of ['acc', 'nmi', 'mAcc'])
        expect(accuracy(metrics.methods[method][key]), `${method} ${key}`).toBe(true);
    }
  }, 180_000);
});

describe.runIf(present)('scpnet (multi-label) on --data fashion-mnist --smoke (wasm)', () => {
  it("trains on Fashion-MNIST outfits (28×28 scenes of co-occurring items) and reports every model's test mAP", async () => {
    const out = path.join(root, 'scpnet');
    const lines: string[] = [];
    await runRecipe(getRecipe('scpnet'), {
      ...{ backend: 'wasm', smoke: true, data: 'fashion-mnist', seed: 0, out, progress: 'none' },
      print: (l) => lines.push(l),
    });
    expect(lines.join('\n')).toMatch(/Fashion-MNIST outfits: 64 training images/);
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.data.scenes).toEqual(FASHION_SCENES.map((scene) => [...scene]));
    expect(Object.keys(metrics.mAP)).toHaveLength(5);
    for (const [name, v] of Object.entries(metrics.mAP)) expect(accuracy(v), name).toBe(true);
    expectEvidenceKeys('scpnet', metrics);
  }, 180_000);
});

describe.runIf(present)('lavit on --data fashion-mnist --smoke (wasm)', () => {
  it('trains the ViT and both LaViTs on 28×28 images in patches of 7 (16 stage-0 tokens), with FLOPs and times', async () => {
    const out = path.join(root, 'lavit');
    const lines: string[] = [];
    await runRecipe(getRecipe('lavit'), {
      ...{ backend: 'wasm', smoke: true, data: 'fashion-mnist', seed: 0, out, progress: 'none' },
      print: (l) => lines.push(l),
    });
    expect(lines.join('\n')).toMatch(/Fashion-MNIST: 200 training images, 100 test images/);
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.lavitStages.map((stage: { tokens: number }) => stage.tokens)).toEqual([16, 4]);
    for (const m of ['ViT', 'LaViT (CE + DP loss)', 'LaViT (CE only)']) {
      expect(accuracy(metrics.models[m].accuracy), m).toBe(true);
      expect(metrics.models[m].forwardMs).toBeGreaterThan(0);
    }
    expectEvidenceKeys('lavit', metrics);
  }, 180_000);
});
