import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main';
import type { Recipe } from './recipe';
import { runRecipe } from './run-recipe';

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
    expect(await main(['trian'], a.io)).toBe(2);
    expect(a.err.join('\n')).toMatch(/unknown command "trian"; one of: run, distill, train, eval, predict,/);
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
