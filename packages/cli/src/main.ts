import { getRecipe, type ProgressMode, type Recipe, recipeNames, recipes } from '@distillery/recipes';
import { DistilleryError } from '@distillery/tensor';
import { describeFlags, type FlagSpec, parseArgs, UsageError } from './args';
import { backendsCommand } from './commands/backends';
import { benchCommand } from './commands/bench';
import { trainingCommand } from './commands/distill';
import { evalPredictCommand } from './commands/eval-predict';
import { evidenceCommand } from './commands/evidence';
import { type RunOptions, runRecipe, runSeeds } from './run-recipe';
import { formatTable } from './table';

export const RUN_FLAGS: Record<string, FlagSpec> = {
  backend: {
    type: 'string',
    description: "tfjs backend; 'auto' picks the fastest that works (default auto)",
    choices: ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'],
  },
  data: {
    type: 'string',
    description: "dataset name or path (each recipe's --help says which)",
    valueName: 'name or path',
  },
  epochs: {
    type: 'number',
    integer: true,
    min: 1,
    description: "training epochs (default: the recipe's)",
    valueName: 'N',
  },
  seed: { type: 'number', integer: true, description: 'random seed (default 0)', valueName: 'S' },
  seeds: {
    type: 'integers',
    minItems: 2,
    description: 'run once per seed into <out>/seed-<S>/ and write <out>/summary.json (mean ± sample std)',
    valueName: 'S,S,…',
  },
  out: { type: 'string', description: 'output folder (default runs/<recipe>)', valueName: 'DIR' },
  resume: { type: 'boolean', description: 'continue from the checkpoints in the output folder' },
  smoke: { type: 'boolean', description: 'a few steps on tiny models (to check that everything runs)' },
  progress: {
    type: 'string',
    description: 'progress display (default auto: a bar on a terminal, plain lines otherwise)',
    choices: ['auto', 'bar', 'lines', 'none'],
  },
};

const MAIN_HELP = `distillery — soft-label training recipes for vision models (distillation, long-tail, pseudo-labels, OT)

Usage:
  distillery run <recipe> [options]   train and evaluate a recipe, write config, logs, metrics, weights and a report
  distillery distill [options]        distill a student from your teacher on your data (--help for the options)
  distillery train [options]          train a model on your data (long-tail losses and samplers)
  distillery eval --model FILE --data PATH    accuracy, per-class, head/mid/tail, confusion matrix, report.html
  distillery predict --model FILE image.png   the top-k classes of images
  distillery evidence RUN_DIR         a --seeds run's table of mean ± std and the paper's claims, as markdown
  distillery list                     the recipes
  distillery backends                 which tfjs backends work here, and why the others do not
  distillery bench [--backend NAME]   a quick speed check of each available backend

Run 'distillery <command> --help' for a command's options.`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function recipeHelp(recipe: Recipe): string {
  return `distillery run ${recipe.name} — ${recipe.title}

${recipe.summary}
Paper: ${recipe.paper}
Data (--data): ${recipe.data}
Default epochs: ${recipe.defaultEpochs}

Options:
${describeFlags(RUN_FLAGS)}`;
}

/**
 * Runs one recipe from command-line flags (the `run` command's options): what `distillery run <recipe>` does, and what
 * a copied example's `main.mjs` calls. Resolves to the exit code; usage errors print a message and give 2.
 */
export async function runRecipeFromArgs(recipe: Recipe, argv: readonly string[], io: Io = stdio): Promise<number> {
  try {
    const parsed = parseArgs(argv, RUN_FLAGS);
    if (parsed.help) {
      io.out(recipeHelp(recipe));
      return 0;
    }
    if (parsed.positionals.length > 0)
      throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    const f = parsed.flags;
    if (f.seeds !== undefined && f.seed !== undefined) {
      throw new UsageError('--seed and --seeds together: give one seed with --seed, or several with --seeds');
    }
    const common: Omit<RunOptions, 'seed'> = {
      backend: (f.backend as 'auto') ?? 'auto',
      data: f.data as string | undefined,
      epochs: f.epochs as number | undefined,
      out: f.out as string | undefined,
      resume: Boolean(f.resume),
      smoke: Boolean(f.smoke),
      progress: (f.progress as ProgressMode | undefined) ?? 'auto',
      print: io.out,
    };
    if (f.seeds !== undefined) await runSeeds(recipe, { ...common, seeds: f.seeds as number[] });
    else await runRecipe(recipe, { ...common, seed: f.seed as number | undefined });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`distillery: ${error.message}\nRun 'distillery run ${recipe.name} --help' for usage.`);
      return 2;
    }
    if (error instanceof DistilleryError && error.argument === 'out') {
      // An unusable --out is a usage error: one line, exit 2, like any other bad flag.
      io.err(`distillery: --${error.message}\nRun 'distillery run ${recipe.name} --help' for usage.`);
      return 2;
    }
    if (error instanceof DistilleryError) {
      io.err(`distillery: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** Commands that take no positional argument refuse one (never ignore it). */
function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
}

/** `bench --backend`: a backend source, or 'tensorflow' for either tfjs-node package. */
const BENCH_BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(MAIN_HELP);
        return command === undefined ? 2 : 0;
      case 'list': {
        const { help, positionals } = parseArgs(rest, {});
        if (help) {
          io.out(
            'distillery list — the recipes (by method, with the task names they also answer to) and the paper each follows',
          );
          return 0;
        }
        noPositionals(positionals);
        io.out(
          formatTable(
            ['recipe', 'also', 'what it runs', 'paper'],
            recipes.map((r) => [r.name, (r.aliases ?? []).join(', '), r.summary, r.paper]),
          ),
        );
        return 0;
      }
      case 'backends': {
        const { help, positionals } = parseArgs(rest, {});
        if (help) {
          io.out('distillery backends — what each backend source is doing here: available, active, or why not');
          return 0;
        }
        noPositionals(positionals);
        return await backendsCommand(io.out);
      }
      case 'bench': {
        const flags = {
          backend: { type: 'string', description: 'only this backend', choices: BENCH_BACKENDS },
        } satisfies Record<string, FlagSpec>;
        const parsed = parseArgs(rest, flags);
        if (parsed.help) {
          io.out(
            `distillery bench — matMul 512, an MLP step and a KD step on each available backend\n\nOptions:\n${describeFlags(flags)}`,
          );
          return 0;
        }
        noPositionals(parsed.positionals);
        return await benchCommand(io.out, parsed.flags.backend as string | undefined);
      }
      case 'run': {
        const [name, ...flags] = rest;
        if (name === undefined || name.startsWith('--')) {
          const parsed = parseArgs(rest, RUN_FLAGS);
          if (parsed.help) {
            io.out(
              `Usage: distillery run <recipe> [options]\n\nRecipes: ${recipeNames().join(', ')}\n\nOptions:\n${describeFlags(RUN_FLAGS)}`,
            );
            return 0;
          }
          throw new UsageError(`missing <recipe>; one of: ${recipeNames().join(', ')}`);
        }
        let recipe: Recipe;
        try {
          recipe = getRecipe(name);
        } catch {
          throw new UsageError(`unknown recipe ${JSON.stringify(name)}; one of: ${recipeNames().join(', ')}`);
        }
        return await runRecipeFromArgs(recipe, flags, io);
      }
      case 'evidence': {
        const flags = {
          readme: { type: 'string', description: "write it into FILE's <!-- evidence: DATA --> block instead" },
        } satisfies Record<string, FlagSpec>;
        const { help, positionals, flags: f } = parseArgs(rest, flags);
        if (help) {
          io.out(
            `distillery evidence <summary.json | RUN_DIR> [--readme FILE] — the table (mean ± std over the seeds) and the paper's claims (held on every seed, on the mean only, or not at all) of a \`distillery run <recipe> --seeds …\` run, in markdown for the recipe's README\n\nOptions:\n${describeFlags(flags)}`,
          );
          return 0;
        }
        if (positionals.length !== 1) throw new UsageError('expected one summary.json or run folder');
        return evidenceCommand(positionals[0]!, io.out, f.readme as string | undefined);
      }
      case 'distill':
      case 'train':
        return await trainingCommand(command, rest, io);
      case 'eval':
      case 'predict':
        return await evalPredictCommand(command, rest, io);
      default:
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}; one of: run, distill, train, eval, predict, evidence, list, backends, bench`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(
        `distillery: ${error.message}\nRun 'distillery ${command && command !== 'help' ? `${command} ` : ''}--help' for usage.`,
      );
      return 2;
    }
    if (error instanceof DistilleryError) {
      io.err(`distillery: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
