import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DistilleryError } from '@distillery/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { main, parseArgs, type Recipe, runRecipe, runRecipeFromArgs, runSeeds, UsageError } from '../src/index';

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-cli-robustness-'));
afterAll(() => {
  chmodSync(path.join(work, 'read-only'), 0o755);
  rmSync(work, { recursive: true, force: true });
});
const aFile = path.join(work, 'a-file');
writeFileSync(aFile, 'not a folder');
const readOnly = path.join(work, 'read-only');
mkdirSync(readOnly);
chmodSync(readOnly, 0o555);

/**
 * A folder this process cannot write: a 0555 folder for a normal user; root ignores modes, so for root /sys (mounted
 * read-only or refusing mkdir) when it refuses, else none (the case is then skipped).
 */
function unwritableDir(): string | undefined {
  if (process.getuid?.() !== 0) return path.join(readOnly, 'out');
  try {
    mkdirSync('/sys/distillery-cli-test');
    rmSync('/sys/distillery-cli-test', { recursive: true, force: true });
    return undefined;
  } catch {
    return '/sys/distillery-cli-test';
  }
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

/** A recipe that records whether it ran (it must not, when the arguments are bad). */
let ran = 0;
const recipe: Recipe = {
  name: 'probe',
  title: 'Probe recipe',
  summary: 'records that it ran',
  paper: 'none',
  data: 'none',
  defaultEpochs: 1,
  async run() {
    ran++;
    return { metrics: {}, report: {} };
  },
};

/** [argv, the exit code, a pattern the one stderr line must match]. */
const commandLines: [string[], number, RegExp][] = [
  [['run', 'deit-lt', '--out', aFile, '--backend', 'cpu'], 2, /--out: .*a-file is a file, not a folder/],
  [['run', 'deit-lt', '--out', path.join(aFile, 'below'), '--backend', 'cpu'], 2, /a-file is a file, not a folder/],
  // Node's recursive mkdir never returns inside /proc; the folder is made one level at a time instead
  [['run', 'deit-lt', '--out', '/proc/distillery-out/x', '--backend', 'cpu'], 2, /--out: .*ENOENT creating \/proc/],
  [['run', 'deit-lt', '--backend', 'nonsense'], 2, /--backend must be one of/],
  [['bench', '--backend', 'nonsense'], 2, /--backend must be one of .*wasm/],
  [['bench', 'wasm'], 2, /unexpected argument "wasm"/],
  [['list', 'deit-lt'], 2, /unexpected argument "deit-lt"/],
  [['backends', 'wasm'], 2, /unexpected argument "wasm"/],
  [['run', 'deit-lt', '--epochs', '0'], 2, /--epochs must be >= 1/],
  [['run', 'deit-lt', '--smok'], 2, /unknown flag --smok/],
  [['run', 'deit-lt', '--progress', 'fancy'], 2, /--progress must be one of/],
  [['list', '--verbose'], 2, /unknown flag --verbose/],
  [['run', 'deit-lt', '--seeds', '0,1,0'], 2, /--seeds lists 0 twice/],
  [['run', 'deit-lt', '--seeds', '3'], 2, /--seeds needs at least 2 values/],
  [['run', 'deit-lt', '--seeds', '0,1.5'], 2, /--seeds must be a comma-separated list of integers/],
  [['run', 'deit-lt', '--seeds', '0,1', '--seed', '2'], 2, /--seed and --seeds together/],
];

describe('@distillery/cli robustness', () => {
  it(`main: ${commandLines.length + 1} bad command lines exit 2 with one clear line (no "unexpected error", no stack)`, async () => {
    const unwritable = unwritableDir();
    const cases = [...commandLines];
    if (unwritable) cases.push([['run', 'deit-lt', '--out', unwritable, '--backend', 'cpu'], 2, /--out: cannot write/]);
    for (const [argv, code, pattern] of cases) {
      const c = capture();
      const exit = await main(argv, c.io).catch((error: unknown) => `threw ${(error as Error).message}`);
      expect(exit, argv.join(' ')).toBe(code);
      const text = c.err.join('\n');
      expect(text, argv.join(' ')).toMatch(pattern);
      expect(text).not.toMatch(/unexpected error|\n\s+at /);
    }
  });

  it('runRecipeFromArgs: an unusable --out exits 2 before the recipe runs (3 bad inputs)', async () => {
    const before = ran;
    const outs = [aFile, path.join(aFile, 'sub', 'deeper')];
    const unwritable = unwritableDir();
    if (unwritable) outs.push(unwritable);
    for (const out of outs) {
      const c = capture();
      expect(await runRecipeFromArgs(recipe, ['--out', out, '--backend', 'cpu'], c.io)).toBe(2);
      expect(c.err[0]).toMatch(/^distillery: --out: cannot write the output folder/);
    }
    expect(ran).toBe(before);
  });

  it('runRecipe: strict options and an unusable out folder are DistilleryErrors naming the argument', async () => {
    const out = path.join(work, 'ok');
    const bad: [() => Promise<unknown>, string][] = [
      [() => runRecipe(recipe, { out, bakend: 'cpu' } as never), 'options.bakend'],
      [() => runRecipe(recipe, { out, backend: 'gpu' as 'cpu' }), 'options.backend'],
      [() => runRecipe(recipe, { out, progress: 'fancy' as 'bar' }), 'options.progress'],
      [() => runRecipe(recipe, { out, smoke: 'yes' as never }), 'options.smoke'],
      [() => runRecipe(recipe, { out, epochs: 0 }), 'options.epochs'],
      [() => runRecipe(recipe, { out: 42 as never }), 'options.out'],
      [() => runRecipe(recipe, { out, print: 'console' as never }), 'options.print'],
      [() => runRecipe(recipe, { out, seed: 1.5 }), 'seed'],
      [() => runRecipe(null as never, { out }), 'recipe'],
      [() => runRecipe(recipe, { out: aFile, backend: 'cpu' }), 'out'],
      [() => runRecipe(recipe, { out: path.join(aFile, 'x'), backend: 'cpu' }), 'out'],
    ];
    const before = ran;
    for (const [call, argument] of bad) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, argument).toBeInstanceOf(DistilleryError);
      expect((error as DistilleryError).argument, (error as Error).message).toBe(argument);
    }
    expect(ran).toBe(before);
    expect((await runRecipe(recipe, { out, backend: 'cpu', print: () => undefined })).outDir).toBe(out);
  });

  it('runSeeds: bad seeds and options are DistilleryErrors naming the argument, before anything runs', async () => {
    const out = path.join(work, 'seeds');
    const bad: [() => Promise<unknown>, string][] = [
      [() => runSeeds(recipe, { out, seeds: [1] }), 'options.seeds'],
      [() => runSeeds(recipe, { out, seeds: '0,1' as never }), 'options.seeds'],
      [() => runSeeds(recipe, { out, seeds: [0, 0] }), 'options.seeds[1]'],
      [() => runSeeds(recipe, { out, seeds: [0, 1.5] }), 'options.seeds[1]'],
      [() => runSeeds(recipe, { out, seeds: [0, 1], seed: 2 } as never), 'options.seed'],
      [() => runSeeds(recipe, { out, seeds: [0, 1], bakend: 'cpu' } as never), 'options.bakend'],
      [() => runSeeds(null as never, { out, seeds: [0, 1] }), 'recipe'],
      [() => runSeeds(recipe, { out: aFile, seeds: [0, 1] }), 'out'],
      [() => runSeeds(recipe, undefined as never), 'options'],
    ];
    const before = ran;
    for (const [call, argument] of bad) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, argument).toBeInstanceOf(DistilleryError);
      expect((error as DistilleryError).argument, (error as Error).message).toBe(argument);
    }
    expect(ran).toBe(before);
  });

  it('parseArgs: unknown flags, missing values, bad numbers and choices are UsageErrors (5 bad inputs)', () => {
    const spec = {
      n: { type: 'number', integer: true, min: 1, description: 'n' },
      mode: { type: 'string', choices: ['a', 'b'], description: 'mode' },
      flag: { type: 'boolean', description: 'flag' },
    } as const;
    for (const argv of [['--m', 'a'], ['--n'], ['--n', '1.5'], ['--mode', 'c'], ['--flag=1']]) {
      expect(() => parseArgs(argv, spec), argv.join(' ')).toThrow(UsageError);
    }
  });
});
