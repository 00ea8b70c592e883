// The recipes this page offers: the examples/<name>/recipe.mjs scripts the CLI registry lists
// (packages/cli/src/recipes/index.ts), imported directly, flagship first. Each one is browser-safe: no Node APIs,
// and files only through the context, which the page leaves undefined.
import { recipe as deitLt } from '../../deit-lt/recipe.mjs';
import { recipe as kd } from '../../kd/recipe.mjs';
import { recipe as lavit } from '../../lavit/recipe.mjs';
import { recipe as mdcs } from '../../mdcs/recipe.mjs';
import { recipe as metaformer } from '../../metaformer/recipe.mjs';
import { recipe as mmformer } from '../../mmformer/recipe.mjs';
import { recipe as multiLabel } from '../../multi-label/recipe.mjs';
import { recipe as selfKd } from '../../self-kd/recipe.mjs';
import { recipe as trg } from '../../trg/recipe.mjs';

/** @type {import('@distillery/cli').Recipe[]} */
export const recipes = [deitLt, kd, selfKd, mdcs, trg, lavit, metaformer, mmformer, multiLabel];
