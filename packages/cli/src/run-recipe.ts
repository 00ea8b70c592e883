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
      mkdirSync(dir, { recursive: true });
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
