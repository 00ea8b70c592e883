import { describeValue, invalid } from '@distillery/tensor/errors';
import type { Recipe } from './recipe';
import { recipe as deitLt } from './recipes/deit-lt';
import { recipe as gpMaml } from './recipes/gp-maml';
import { recipe as kd } from './recipes/kd';
import { recipe as lavit } from './recipes/lavit';
import { recipe as mdcs } from './recipes/mdcs';
import { recipe as metaformer } from './recipes/metaformer';
import { recipe as mmformer } from './recipes/mmformer';
import { recipe as p2ot } from './recipes/p2ot';
import { recipe as scpnet } from './recipes/scpnet';
import { recipe as trg } from './recipes/trg';
import { recipe as uskd } from './recipes/uskd';

/**
 * Every recipe, flagship first: the one list the CLI (`distillery list`, `distillery run <name>`), the browser app
 * and the examples' `main.mjs` take their recipes from.
 */
export const recipes: readonly Recipe[] = Object.freeze([
  deitLt,
  kd,
  uskd,
  mdcs,
  trg,
  lavit,
  metaformer,
  mmformer,
  scpnet,
  p2ot,
  gpMaml,
] as Recipe[]);

/** `name (alias, …)` for each recipe: what an error or a listing shows. */
export function recipeNames(): string[] {
  return recipes.map((r) => (r.aliases?.length ? `${r.name} (${r.aliases.join(', ')})` : r.name));
}

/**
 * The recipe called `nameOrAlias`: its method's name (`uskd`) or one of its aliases, the task it was first named for
 * (`self-kd`). An unknown name throws a DistilleryError listing the valid ones.
 */
export function getRecipe(nameOrAlias: string): Recipe {
  if (typeof nameOrAlias !== 'string') {
    throw invalid('INVALID_ARGUMENT', 'nameOrAlias', 'a recipe name (a string)', describeValue(nameOrAlias));
  }
  const found = recipes.find((r) => r.name === nameOrAlias || (r.aliases ?? []).includes(nameOrAlias));
  if (!found) {
    throw invalid(
      'INVALID_ARGUMENT',
      'nameOrAlias',
      `one of the recipes: ${recipeNames().join(', ')}`,
      JSON.stringify(nameOrAlias),
    );
  }
  return found;
}
