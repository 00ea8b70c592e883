/**
 * @distillery/recipes — Distillery's recipes (one module per method) and their registry: what `distillery run`, the
 * browser app and the examples run. A recipe is `{ name, aliases?, title, summary, paper, data, defaultEpochs,
 * run(ctx) }`; a runner (the CLI's `runRecipe`, or the browser app) gives it its context and writes what it returns.
 */

export * from './kit';
export type {
  EpochRecord,
  FitRunOptions,
  ProgressMode,
  Recipe,
  RecipeClaim,
  RecipeContext,
  RecipeEvidence,
  RecipeResult,
} from './recipe';
export { recipe as deitLt } from './recipes/deit-lt';
export { recipe as gpMaml } from './recipes/gp-maml';
export { recipe as kd } from './recipes/kd';
export { recipe as lavit } from './recipes/lavit';
export { recipe as mdcs } from './recipes/mdcs';
export { recipe as metaformer } from './recipes/metaformer';
export { recipe as mmformer } from './recipes/mmformer';
export { longTailedDigitFeatures, recipe as p2ot } from './recipes/p2ot';
export { recipe as scpnet } from './recipes/scpnet';
export { recipe as trg } from './recipes/trg';
export { recipe as uskd } from './recipes/uskd';
export { getRecipe, recipeNames, recipes } from './registry';
export type { PerClassPanel, RunReport, Series } from './report';
