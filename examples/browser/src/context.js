// The RecipeContext the page gives a recipe, shared by the training worker (train-worker.js) and the main-thread path
// (WebGPU): no checkpoints or log files, `say`/`log` become progress lines, `onEpochEnd` feeds the live curves.

/**
 * @param {{ backend: string, seed: number, smoke: boolean, line(text: string): void,
 *   epoch(run: string, record: object): void | Promise<void> }} page
 * @returns {import('@distillery/recipes').RecipeContext}
 */
export function recipeContext({ backend, seed, smoke, line, epoch }) {
  const ctx = {
    backend,
    seed,
    epochs: smoke ? undefined : 5,
    data: undefined,
    smoke,
    resume: false,
    progress: 'none',
    outDir: '',
    checkpoint: undefined,
    logFile: undefined,
    // No checkpoints or logs in the page: only the live curves.
    fitOptions: (run) => ({ resume: false, progress: 'none', onEpochEnd: (record) => ctx.onEpochEnd(run, record) }),
    log: (event) => line(JSON.stringify(event)),
    say: (text) => line(text),
    onEpochEnd: (run, record) => epoch(run, record),
  };
  return ctx;
}

/** A plain, structured-cloneable copy of an epoch record (numbers, strings, arrays of them). */
export function plainRecord(record) {
  return JSON.parse(JSON.stringify(record));
}
