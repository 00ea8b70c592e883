// Each recipe lives in examples/<name>/recipe.mjs, a plain script users can copy; the build bundles it here.
import { recipe as deitLt } from '../../../../examples/deit-lt/recipe.mjs';
import type { Recipe } from '../recipe';

/** Every recipe the CLI runs, flagship first. */
export const recipes: Recipe[] = [deitLt];
