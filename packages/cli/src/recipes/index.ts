import type { Recipe } from '../recipe';

/** Every recipe the CLI runs; each lives in examples/<name>/recipe.mjs, a plain script users can copy. */
export const recipes: Recipe[] = [];
