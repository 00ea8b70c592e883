import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Recipe } from '@distillery/recipes';
import { describe, expect, it } from 'vitest';
import { main } from './main';
import { flattenMetrics, meanAndStd, runRecipe, runSeeds } from './run-recipe';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('distillery command line', () => {
  it('prints help and exits 0 for --help, 2 with no command', async () => {
    const a = capture();
    expect(await main(['--help'], a.io)).toBe(0);
    expect(a.out.join('\n')).toMatch(/distillery run <recipe>/);
    expect(await main([], capture().io)).toBe(2);
    const b = capture();
    expect(await main(['run', '--help'], b.io)).toBe(0);
    expect(b.out.join('\n')).toMatch(/--epochs <N>/);
  });

  it('exits 2 with a clear message on bad commands and flags', async () => {
    const a = capture();
    expect(await main(['train'], a.io)).toBe(2);
    expect(a.err.join('\n')).toMatch(/unknown command "train"/);
    const b = capture();
    expect(await main(['run', 'no-such-recipe'], b.io)).toBe(2);
    expect(b.err.join('\n')).toMatch(/unknown recipe "no-such-recipe"/);
    const c = capture();
    expect(await main(['run', 'deit-lt', '--epochs', 'many'], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--epochs must be a number/);
    expect(c.err.join('\n')).toMatch(/Run 'distillery run deit-lt --help'/);
    const d = capture();
    expect(await main(['run', 'deit-lt', 'extra'], d.io)).toBe(2);
    expect(d.err.join('\n')).toMatch(/unexpected argument "extra"/);
  });

  it('lists the recipes with their aliases, and runs one by either name', async () => {
    const a = capture();
    expect(await main(['list'], a.io)).toBe(0);
    const uskdLine = a.out
      .join('\n')
      .split('\n')
      .find((l) => l.startsWith('uskd '));
    expect(uskdLine).toMatch(/^uskd\s+self-kd\s+USKD/);
    for (const name of ['uskd', 'self-kd']) {
      const b = capture();
      expect(await main(['run', name, '--help'], b.io)).toBe(0);
      expect(b.out[0]).toMatch(/^distillery run uskd — /);
    }
  });

  it('lists backends with the reason each missing one is missing', async () => {
    const a = capture();
    expect(await main(['backends'], a.io)).toBe(0);
    const text = a.out.join('\n');
    expect(text).toMatch(/tfjs-node\s+tensorflow\s+no\s+@tensorflow\/tfjs-node is not installed/);
    expect(text).toMatch(/'auto' picks: (wasm|cpu|webgpu|tensorflow)/);
  });
});

describe('runRecipe', () => {
  // A real (tiny) recipe: it fits a 2-class threshold, so the runner's files have real content to check.
  const recipe: Recipe = {
    name: 'threshold',
    title: 'Threshold test recipe',
    summary: 'fits a threshold',
    paper: 'none',
    data: 'none',
    defaultEpochs: 3,
    async run(ctx) {
      const losses = Array.from({ length: ctx.epochs ?? 3 }, (_, e) => 1 / (e + 1));
      for (const [epoch, loss] of losses.entries()) ctx.log({ event: 'epoch', epoch, loss });
      return {
        metrics: { accuracy: 0.75, seed: ctx.seed },
        report: {
          table: { headers: ['model', 'accuracy'], rows: [['threshold', 0.75]] },
          curves: { loss: [{ name: 'threshold', x: losses.map((_, i) => i), y: losses }] },
        },
        weights: { threshold: new Uint8Array([1, 2, 3]) },
      };
    },
  };

  it('writes config, logs, metrics, weights and the report into the out folder', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-run-'));
    const lines: string[] = [];
    const outcome = await runRecipe(recipe, { backend: 'cpu', out, seed: 4, epochs: 2, print: (l) => lines.push(l) });
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({
      recipe: 'threshold',
      seed: 4,
      epochs: 2,
      backend: 'cpu',
    });
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'))).toEqual({ accuracy: 0.75, seed: 4 });
    const events = readFileSync(path.join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['start', 'epoch', 'epoch', 'end']);
    expect(Array.from(readFileSync(path.join(out, 'weights/threshold.safetensors')))).toEqual([1, 2, 3]);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<svg');
    expect(outcome.files.every((f) => existsSync(f))).toBe(true);
    expect(lines.join('\n')).toMatch(/threshold\s+0\.7500/);
    rmSync(out, { recursive: true, force: true });
  });
});

describe('--seeds: one run per seed and a summary.json of mean ± sample std', () => {
  // Metrics that depend on the seed: accuracy 0.5, 0.7, 0.9 for seeds 0, 1, 2 (mean 0.7, sample std 0.2).
  const seeded: Recipe = {
    name: 'seeded',
    title: 'Seeded test recipe',
    summary: 'metrics from the seed',
    paper: 'none',
    data: 'none',
    defaultEpochs: 1,
    async run(ctx) {
      return {
        metrics: {
          accuracy: 0.5 + 0.2 * ctx.seed,
          groups: { tail: ctx.seed, head: 1 },
          perClass: [ctx.seed, 2 * ctx.seed],
          name: 'not a number',
          onlySeed0: ctx.seed === 0 ? 1 : undefined,
          unstable: ctx.seed === 1 ? Number.NaN : 1,
        },
        report: { table: { headers: ['model', 'accuracy'], rows: [['m', 0.5 + 0.2 * ctx.seed]] } },
      };
    },
  };

  it('flattens nested metrics with dotted keys; the std is the sample std (n − 1, numpy ddof=1)', () => {
    expect([...flattenMetrics({ a: 1, b: { c: 2, d: [3, 4] }, s: 'x', n: null })]).toEqual([
      ['a', 1],
      ['b.c', 2],
      ['b.d.0', 3],
      ['b.d.1', 4],
    ]);
    // numpy: np.std([0.5, 0.7, 0.9], ddof=1) = 0.2; np.std([1, 2, 3, 4], ddof=1) = 1.2909944487358056
    expect(meanAndStd([0.5, 0.7, 0.9]).std).toBeCloseTo(0.2, 12);
    expect(meanAndStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: 1.2909944487358056 });
  });

  it('writes seed-<n>/ folders and summary.json, and prints mean ± std', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-seeds-'));
    const lines: string[] = [];
    const outcome = await runSeeds(seeded, { backend: 'cpu', out, seeds: [0, 1, 2], print: (l) => lines.push(l) });
    for (const s of [0, 1, 2]) {
      expect(JSON.parse(readFileSync(path.join(out, `seed-${s}`, 'config.json'), 'utf8')).seed).toBe(s);
      expect(JSON.parse(readFileSync(path.join(out, `seed-${s}`, 'metrics.json'), 'utf8')).groups.tail).toBe(s);
    }
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary).toEqual(outcome.summary);
    expect(summary.seeds).toEqual([0, 1, 2]);
    expect(summary.runs).toEqual(['seed-0', 'seed-1', 'seed-2']);
    expect(summary.std).toMatch(/n - 1/);
    expect(Object.keys(summary.metrics)).toEqual([
      'accuracy',
      'groups.tail',
      'groups.head',
      'perClass.0',
      'perClass.1',
    ]);
    expect(summary.metrics.accuracy.mean).toBeCloseTo(0.7, 12);
    expect(summary.metrics.accuracy.std).toBeCloseTo(0.2, 12);
    expect(summary.metrics.accuracy.values).toEqual([0.5, 0.7, 0.5 + 0.2 * 2]);
    expect(summary.metrics['groups.tail']).toEqual({ mean: 1, std: 1, values: [0, 1, 2] });
    expect(summary.metrics['perClass.1']).toEqual({ mean: 2, std: 2, values: [0, 2, 4] });
    expect(summary.metrics['groups.head']).toEqual({ mean: 1, std: 0, values: [1, 1, 1] });
    expect(summary.incomplete).toEqual(['onlySeed0', 'unstable']);
    const text = lines.join('\n');
    expect(text).toMatch(/accuracy\s+0\.7000 ± 0\.2000\s+0\.5000\s+0\.7000\s+0\.9000/);
    expect(text).toMatch(/not averaged .*onlySeed0, unstable/);
    rmSync(out, { recursive: true, force: true });
  });

  it('main: run <recipe> --smoke --seeds 0,1 runs a real recipe twice and summarises it; --seed with --seeds is refused', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-seeds-cli-'));
    const c = capture();
    const argv = [
      'run',
      'imbalanced-clustering',
      '--smoke',
      '--seeds',
      '0,1',
      '--backend',
      'cpu',
      '--progress',
      'none',
    ];
    const t0 = performance.now();
    expect(await main([...argv, '--out', out], c.io)).toBe(0);
    console.info(`imbalanced-clustering --smoke --seeds 0,1: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const perSeed = [0, 1].map((s) => JSON.parse(readFileSync(path.join(out, `seed-${s}`, 'metrics.json'), 'utf8')));
    const acc = summary.metrics['methods.k-means.acc'];
    expect(acc.values).toEqual(perSeed.map((m) => m.methods['k-means'].acc));
    expect(acc.mean).toBeCloseTo((acc.values[0] + acc.values[1]) / 2, 12);
    expect(acc.std).toBeCloseTo(Math.abs(acc.values[0] - acc.values[1]) / Math.SQRT2, 12);
    expect(c.out.join('\n')).toMatch(/methods\.k-means\.acc\s+\d\.\d{4} ± \d\.\d{4}/);
    const d = capture();
    expect(await main([...argv, '--seed', '3', '--out', out], d.io)).toBe(2);
    expect(d.err.join('\n')).toMatch(/--seed and --seeds together/);
    rmSync(out, { recursive: true, force: true });
  }, 300_000);
});
