import type { RunReport } from './report';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/** What a recipe gets from the runner (the CLI or a plain script). */
export interface RecipeContext {
  /** The active tfjs backend ('wasm', 'cpu', 'webgpu', 'tensorflow'). */
  backend: string;
  seed: number;
  /** Epoch override (--epochs); undefined means the recipe's default. */
  epochs?: number;
  /** --data: a dataset name or a path the recipe understands; undefined means the recipe's default. */
  data?: string;
  /** Few steps, tiny models: for tests. */
  smoke: boolean;
  /** Continue from the checkpoints in `outDir` (--resume). */
  resume: boolean;
  progress: ProgressMode;
  outDir: string;
  /** Path of a named checkpoint inside `outDir/checkpoints/`. */
  checkpoint(name: string): string;
  /** Path of a JSON-lines log inside `outDir/logs/` (the training loop appends one record per epoch). */
  logFile(name: string): string;
  /** Appends an event to `outDir/log.jsonl`. */
  log(event: Record<string, unknown>): void;
  /** A line for the person watching. */
  say(line: string): void;
  /**
   * Called after every training epoch of every model the recipe trains (`run` names the model, e.g.
   * 'deit-lt-if10'); the browser app draws live curves from it. Recipes pass it to fit's onEpochEnd.
   */
  onEpochEnd?(run: string, record: EpochRecord): void;
  /**
   * What every `fit` of the recipe passes for its model `run` (`fit({ ..., ...ctx.fitOptions(run) })`): the
   * checkpoint and log paths, --resume, the progress mode, and `onEpochEnd` forwarded with the run's name.
   */
  fitOptions(run: string): FitRunOptions;
}

/** An epoch's record as the training loop reports it. */
export type EpochRecord = { epoch: number; loss: number; [metric: string]: number };

/** The run-level options of `fit` that come from the runner (see `RecipeContext.fitOptions`). */
export interface FitRunOptions {
  checkpoint?: string;
  resume: boolean;
  logFile?: string;
  progress: ProgressMode;
  onEpochEnd(record: EpochRecord): void;
}

export interface RecipeResult {
  /** Final numbers, written to metrics.json. */
  metrics: Record<string, unknown>;
  /** Report content (the table is also printed). */
  report: Omit<RunReport, 'title' | 'config'>;
  /** Trained weights as safetensors bytes, written to `weights/<name>.safetensors`. */
  weights?: Record<string, Uint8Array>;
}

export interface Recipe {
  /** The method's name (`distillery run <name>`). */
  name: string;
  /** Other names it answers to: the task it was first named for (`self-kd` for `uskd`). */
  aliases?: readonly string[];
  title: string;
  /** One line for `distillery list`. */
  summary: string;
  /** The paper(s) it follows. */
  paper: string;
  /** What --data accepts. */
  data: string;
  defaultEpochs: number;
  /**
   * Set when the recipe cannot run on WebGPU in a browser: why (e.g. a host solver of another package reads tensors
   * synchronously, which WebGPU in browsers cannot do). The browser app refuses WebGPU for it before starting and
   * shows this reason. Absent: the recipe reads tensors only asynchronously on WebGPU.
   */
  webgpuUnsupported?: string;
  /**
   * What a multi-seed run (`distillery run --seeds`) shows, per --data name ('digits', 'fashion-mnist'): the table
   * of mean ± std that the recipe's README carries, and the paper's claims to check on every seed.
   */
  evidence?: Readonly<Record<string, RecipeEvidence>>;
  run(ctx: RecipeContext): Promise<RecipeResult>;
}

/**
 * The evidence table and claims of a recipe on one dataset, over the flattened metric keys of its metrics.json
 * (nested keys joined with dots: `methods.P²OT.acc`). Cell (row, column) is the metric `${row.key}.${column.key}`
 * (`row.key` itself when the column key is '').
 */
export interface RecipeEvidence {
  rows: readonly { label: string; key: string }[];
  columns: readonly { label: string; key: string }[];
  /** The paper's orderings: `better` > `worse`, each a full metric key. */
  claims: readonly RecipeClaim[];
}

export interface RecipeClaim {
  /** The claim in words, e.g. 'P²OT > k-means (ACC)'. */
  claim: string;
  better: string;
  worse: string;
  /** Holds when better + margin > worse (default 0): 'within one point' is `margin: 0.01`. */
  margin?: number;
}
