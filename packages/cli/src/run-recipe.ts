import { appendFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BackendPreference, DistilleryError, initBackend } from '@distillery/tensor';
import type { ProgressMode, Recipe, RecipeContext, RecipeResult } from './recipe';
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
 * Runs a recipe end to end: activates the backend, makes the out folder, runs, and writes the config, the logs, the
 * final metrics (JSON), the weights (safetensors) and a self-contained HTML report. Used by `distillery run` and by
 * the plain scripts in examples/.
 */
export async function runRecipe(recipe: Recipe, options: RunOptions = {}): Promise<RunOutcome> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) {
    throw new DistilleryError('INVALID_ARGUMENT', `seed: expected an integer, got ${seed}`, { argument: 'seed' });
  }
  const backend = await initBackend(options.backend ?? 'auto');
  const outDir = path.resolve(options.out ?? path.join('runs', recipe.name));
  // Checked before the folders are made: --resume on a folder without checkpoints (a wrong --out, or a run stopped
  // before its first epoch ended) starts from the beginning, and says so.
  const checkpointsDir = path.join(outDir, 'checkpoints');
  const hasCheckpoints =
    existsSync(checkpointsDir) && readdirSync(checkpointsDir).some((f) => f.endsWith('.safetensors'));
  for (const dir of [
    outDir,
    path.join(outDir, 'checkpoints'),
    path.join(outDir, 'logs'),
    path.join(outDir, 'weights'),
  ]) {
    mkdirSync(dir, { recursive: true });
  }
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
