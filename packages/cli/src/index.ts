/**
 * @distillery/cli — the `distillery` command, and the pieces recipes share: the runner (out folder, logs, metrics,
 * weights, HTML report), the report renderer and its SVG charts.
 */

// The recipe types and the registry live in @distillery/recipes; re-exported here, where they used to be.
export {
  type EpochRecord,
  type FitRunOptions,
  getRecipe,
  type ProgressMode,
  type Recipe,
  type RecipeClaim,
  type RecipeContext,
  type RecipeEvidence,
  type RecipeResult,
  recipes,
} from '@distillery/recipes';
export { describeFlags, type FlagSpec, parseArgs, UsageError } from './args';
export { type ClaimVerdict, checkClaims, evidenceMarkdown } from './evidence';
export { type Io, main, RUN_FLAGS, runRecipeFromArgs } from './main';
export { type RunReport, renderHtmlReport } from './report/html-report';
export { confusionHeatmap, lineChart, matrixHeatmap, perClassChart, type Series } from './report/svg';
export {
  flattenMetrics,
  meanAndStd,
  type RunOptions,
  type RunOutcome,
  type RunSeedsOptions,
  type RunSeedsOutcome,
  runRecipe,
  runSeeds,
  type SeedStatistic,
  type SeedsSummary,
  writeFileAtomic,
} from './run-recipe';
export { formatTable } from './table';
