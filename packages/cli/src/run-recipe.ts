import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { ProgressMode, Recipe, RecipeContext, RecipeResult } from '@distillery/recipes';
import {
  type BackendPreference,
  checkEnum,
  checkOptions,
  DistilleryError,
  describeValue,
  initBackend,
  invalid,
} from '@distillery/tensor';
import { type ClaimVerdict, checkClaims, evidenceMarkdown } from './evidence';
import { renderHtmlReport } from './report/html-report';
import { formatTable } from './table';

export interface RunOptions {
  backend?: BackendPreference;
  seed?: number;
  epochs?: number;
  data?: string;
  /** Output folder (default `runs/<recipe>`). */
  out?: string;
  smoke?: boolean;
  resume?: boolean;
  progress?: ProgressMode;
  /** Where lines for the person go (default stdout). */
  print?: (line: string) => void;
  /** Forwarded to the recipe: called after each training epoch of each model. */
  onEpochEnd?: RecipeContext['onEpochEnd'];
}

export interface RunOutcome extends RecipeResult {
  outDir: string;
  files: string[];
  backend: string;
}

/** Writes through a temporary file and a rename, so a crash never leaves a half-written file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/**
 * Makes the output folder and its sub-folders and checks that they can be written, so that an unusable `--out` (a
 * file, a folder below a file, a read-only place) is one clear `IO` error naming `out` before anything runs.
 */
function prepareOutDir(outDir: string, subDirs: readonly string[]): void {
  const fail = (reason: string): never => {
    throw new DistilleryError('IO', `out: cannot write the output folder ${outDir} (${reason})`, {
      argument: 'out',
      expected: 'a writable folder (created if missing)',
      actual: reason,
    });
  };
  for (const dir of [outDir, ...subDirs]) {
    try {
      makeDirs(dir);
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      const reason =
        code === 'EEXIST' || code === 'ENOTDIR'
          ? `${blockingFile(dir) ?? dir} is a file, not a folder`
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? `permission denied creating ${dir}`
            : `${code ?? 'error'} creating ${dir}: ${(error as Error).message}`;
      fail(reason);
    }
    try {
      accessSync(dir, constants.W_OK);
      // access() says yes to root on a read-only mount and to some ACL setups: write a probe file to be sure.
      const probe = path.join(dir, `.write-test-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe, { force: true });
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      fail(
        code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? `${dir} is not writable`
          : `${(error as Error).message}`,
      );
    }
  }
}

/**
 * mkdir -p, one level at a time from the nearest existing ancestor: Node's own `mkdirSync(dir, { recursive: true })`
 * never returns for a path inside a pseudo file system that refuses new entries (`--out /proc/x` hung).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let p = path.resolve(dir); !existsSync(p); p = path.dirname(p)) {
    missing.push(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing.reverse()) mkdirSync(p);
  if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} exists`), { code: 'EEXIST' });
}

/** The existing path on the way to `dir` that is a file, not a folder (what blocks mkdir), if any. */
function blockingFile(dir: string): string | undefined {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      // missing (or unreadable): look further up
    }
    if (path.dirname(p) === p) return undefined;
  }
}

const RUN_OPTIONS = {
  backend: ['auto', 'tensorflow', 'tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'],
  seed: true,
  epochs: true,
  data: true,
  out: true,
  smoke: [true, false],
  resume: [true, false],
  progress: ['auto', 'bar', 'lines', 'none'],
  print: true,
  onEpochEnd: true,
} as const;

/**
 * Runs a recipe end to end: activates the backend, makes the out folder, runs, and writes the config, the logs, the
 * final metrics (JSON), the weights (safetensors) and a self-contained HTML report. Used by `distillery run` and by
 * the plain scripts in examples/.
 */
export async function runRecipe(recipe: Recipe, options: RunOptions = {}): Promise<RunOutcome> {
  checkOptions<RunOptions>(options, RUN_OPTIONS);
  if (recipe === null || typeof recipe !== 'object' || typeof recipe.run !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'recipe', 'a recipe (one of `recipes`)', describeValue(recipe));
  }
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) {
    throw new DistilleryError('INVALID_ARGUMENT', `seed: expected an integer, got ${seed}`, { argument: 'seed' });
  }
  if (options.epochs !== undefined && !(Number.isInteger(options.epochs) && options.epochs >= 1)) {
    throw invalid('INVALID_ARGUMENT', 'options.epochs', 'an integer >= 1', describeValue(options.epochs));
  }
  for (const key of ['data', 'out'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw invalid('INVALID_ARGUMENT', `options.${key}`, 'a non-empty string', describeValue(value));
    }
  }
  for (const key of ['print', 'onEpochEnd'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw invalid('INVALID_ARGUMENT', `options.${key}`, 'a function', describeValue(options[key]));
    }
  }
  const outDir = path.resolve(options.out ?? path.join('runs', recipe.name));
  prepareOutDir(
    outDir,
    ['checkpoints', 'logs', 'weights'].map((d) => path.join(outDir, d)),
  );
  const backend = await initBackend(checkEnum(options.backend ?? 'auto', 'options.backend', RUN_OPTIONS.backend));
  // --resume on a folder without checkpoints (a wrong --out, or a run stopped before its first epoch ended) starts
  // from the beginning, and says so.
  const checkpointsDir = path.join(outDir, 'checkpoints');
  const hasCheckpoints =
    existsSync(checkpointsDir) && readdirSync(checkpointsDir).some((f) => f.endsWith('.safetensors'));
  const config = {
    recipe: recipe.name,
    backend,
    seed,
    epochs: options.epochs ?? recipe.defaultEpochs,
    data: options.data ?? null,
    smoke: options.smoke ?? false,
    resume: options.resume ?? false,
    startedAt: new Date().toISOString(),
  };
  writeFileAtomic(path.join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const eventLog = path.join(outDir, 'log.jsonl');
  const log = (event: Record<string, unknown>) =>
    appendFileSync(eventLog, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  log({ event: 'start', ...config });
  print(
    `${recipe.title} — backend ${backend}, seed ${seed}${options.smoke ? ', smoke mode' : ''}; writing to ${outDir}`,
  );
  if (options.resume && !hasCheckpoints)
    print(`--resume: no checkpoints in ${checkpointsDir} yet; starting from the beginning`);
  const checkpoint = (name: string) => path.join(outDir, 'checkpoints', `${name}.safetensors`);
  const logFile = (name: string) => path.join(outDir, 'logs', `${name}.jsonl`);
  const result = await recipe.run({
    backend,
    seed,
    epochs: options.epochs,
    data: options.data,
    smoke: options.smoke ?? false,
    resume: options.resume ?? false,
    progress: options.progress ?? 'auto',
    outDir,
    checkpoint,
    logFile,
    log,
    say: print,
    onEpochEnd: options.onEpochEnd,
    fitOptions: (run) => ({
      checkpoint: checkpoint(run),
      resume: options.resume ?? false,
      logFile: logFile(run),
      progress: options.progress ?? 'auto',
      onEpochEnd: (record) => options.onEpochEnd?.(run, record),
    }),
  });
  const files = [path.join(outDir, 'config.json'), eventLog];
  const metricsFile = path.join(outDir, 'metrics.json');
  writeFileAtomic(metricsFile, `${JSON.stringify(result.metrics, null, 2)}\n`);
  files.push(metricsFile);
  for (const [name, bytes] of Object.entries(result.weights ?? {})) {
    const file = path.join(outDir, 'weights', `${name}.safetensors`);
    writeFileAtomic(file, bytes);
    files.push(file);
  }
  const reportFile = path.join(outDir, 'report.html');
  writeFileAtomic(reportFile, renderHtmlReport({ title: recipe.title, config, ...result.report }));
  files.push(reportFile);
  log({ event: 'end', metrics: result.metrics });
  if (result.report.table) print(`\n${formatTable(result.report.table.headers, result.report.table.rows)}\n`);
  print(`report: ${reportFile}`);
  return { ...result, outDir, files, backend };
}

export interface RunSeedsOptions extends Omit<RunOptions, 'seed'> {
  /** The seeds, at least two, distinct integers; seed n runs into `<out>/seed-<n>/`. */
  seeds: readonly number[];
}

/** One metric over the seeds: mean, sample standard deviation (n − 1, numpy's ddof=1) and the per-seed values. */
export interface SeedStatistic {
  mean: number;
  std: number;
  values: number[];
}

export interface SeedsSummary {
  recipe: string;
  seeds: number[];
  /** --data as given (absent: the recipe's default). */
  data?: string;
  smoke: boolean;
  /** How `std` is computed. */
  std: string;
  /** Every metric that is a finite number in every seed's metrics.json, nested keys joined with dots. */
  metrics: Record<string, SeedStatistic>;
  /** Keys that are numbers in some seeds but missing, non-finite or not numbers in others (not averaged). */
  incomplete: string[];
  /** The per-seed output folders, relative to the summary's folder. */
  runs: string[];
  /** The recipe's claims for this data (Recipe.evidence) and how each fared over the seeds. */
  claims?: ClaimVerdict[];
}

export interface RunSeedsOutcome {
  outDir: string;
  summaryFile: string;
  summary: SeedsSummary;
  runs: RunOutcome[];
}

/**
 * Numeric leaves of a metrics object, nested keys (and array indices) joined with dots:
 * `{ overall: { accuracy: 0.8 }, perClass: [0.7, 0.9] }` → `overall.accuracy`, `perClass.0`, `perClass.1`.
 * Non-numeric leaves (strings, booleans, null) are left out; a non-finite number is kept, as NaN.
 */
export function flattenMetrics(metrics: unknown, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'number') out.set(key, Number.isFinite(value) ? value : Number.NaN);
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, key === '' ? k : `${key}.${k}`);
    }
  };
  walk(metrics, prefix);
  return out;
}

/** Mean and sample standard deviation (denominator n − 1, as numpy's `std(ddof=1)`; n ≥ 2). */
export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

const STD_NOTE = 'sample standard deviation over the seeds (denominator n - 1, numpy std(ddof=1))';

/**
 * Runs a recipe once per seed, each into `<out>/seed-<n>/` (its own config, logs, metrics, weights and report), then
 * writes `<out>/summary.json`: for every numeric metric (nested keys flattened with dots) the mean, the sample
 * standard deviation (n − 1) and the per-seed values, and prints a table of mean ± std. `distillery run --seeds`.
 */
export async function runSeeds(recipe: Recipe, options: RunSeedsOptions): Promise<RunSeedsOutcome> {
  const { seed: _one, ...others } = RUN_OPTIONS;
  // `seed` is not a key here: passing it with `seeds` is an unknown-option error naming options.seed.
  const { seeds, ...rest } = checkOptions<RunSeedsOptions>(options ?? null, { ...others, seeds: true });
  if (!Array.isArray(seeds) || seeds.length < 2) {
    throw invalid('INVALID_ARGUMENT', 'options.seeds', 'an array of at least two seeds', describeValue(seeds));
  }
  seeds.forEach((s, i) => {
    if (!Number.isSafeInteger(s))
      throw invalid('INVALID_ARGUMENT', `options.seeds[${i}]`, 'an integer', describeValue(s));
    if (seeds.indexOf(s) !== i)
      throw invalid('INVALID_ARGUMENT', `options.seeds[${i}]`, 'distinct seeds', `${s} again`);
  });
  if (recipe === null || typeof recipe !== 'object' || typeof recipe.run !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'recipe', 'a recipe (one of `recipes`)', describeValue(recipe));
  }
  const print = rest.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const outDir = path.resolve(rest.out ?? path.join('runs', recipe.name));
  prepareOutDir(outDir, []);
  const runs: RunOutcome[] = [];
  for (const seed of seeds) {
    print(`\n== seed ${seed} (${runs.length + 1} of ${seeds.length}) ==`);
    runs.push(await runRecipe(recipe, { ...rest, seed, out: path.join(outDir, `seed-${seed}`) }));
  }
  const flat = runs.map((r) => flattenMetrics(r.metrics));
  const keys = [...new Set(flat.flatMap((m) => [...m.keys()]))];
  const metrics: Record<string, SeedStatistic> = {};
  const incomplete: string[] = [];
  for (const key of keys) {
    const values = flat.map((m) => m.get(key));
    if (values.every((v): v is number => v !== undefined && Number.isFinite(v))) {
      metrics[key] = { ...meanAndStd(values), values };
    } else incomplete.push(key);
  }
  const evidence = recipe.evidence?.[rest.data ?? 'digits'];
  const summary: SeedsSummary = {
    recipe: recipe.name,
    seeds: [...seeds],
    ...(rest.data === undefined ? {} : { data: rest.data }),
    smoke: rest.smoke ?? false,
    std: STD_NOTE,
    metrics,
    incomplete,
    runs: seeds.map((s) => `seed-${s}`),
    ...(evidence ? { claims: checkClaims(metrics, evidence.claims) } : {}),
  };
  const summaryFile = path.join(outDir, 'summary.json');
  writeFileAtomic(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  // The README's table and claims, generated from the summary (`distillery evidence` prints it again).
  if (evidence) writeFileAtomic(path.join(outDir, 'evidence.md'), evidenceMarkdown(summary, evidence));
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4));
  print(`\n${recipe.title}: mean ± std over seeds ${seeds.join(', ')} (${STD_NOTE})\n`);
  print(
    formatTable(
      ['metric', 'mean ± std', ...seeds.map((s) => `seed ${s}`)],
      Object.entries(metrics).map(([key, m]) => [key, `${fmt(m.mean)} ± ${m.std.toFixed(4)}`, ...m.values.map(fmt)]),
    ),
  );
  if (incomplete.length > 0) print(`\nnot averaged (missing or not finite in some seed): ${incomplete.join(', ')}`);
  for (const c of summary.claims ?? []) {
    print(`claim ${c.claim}: ${c.verdict} (${c.heldOn} of ${c.seeds} seeds, mean gap ${c.meanGap.toFixed(4)})`);
  }
  print(`\nsummary: ${summaryFile}`);
  return { outDir, summaryFile, summary, runs };
}
