// Each recipe lives in examples/<name>/recipe.mjs, a plain script users can copy; the build bundles it here.
import { recipe as deitLt } from '../../../../examples/deit-lt/recipe.mjs';
import { recipe as fewShot } from '../../../../examples/few-shot/recipe.mjs';
import { recipe as imbalancedClustering } from '../../../../examples/imbalanced-clustering/recipe.mjs';
import { recipe as kd } from '../../../../examples/kd/recipe.mjs';
import { recipe as lavit } from '../../../../examples/lavit/recipe.mjs';
import { recipe as mdcs } from '../../../../examples/mdcs/recipe.mjs';
import { recipe as metaformer } from '../../../../examples/metaformer/recipe.mjs';
import { recipe as mmformer } from '../../../../examples/mmformer/recipe.mjs';
import { recipe as multiLabel } from '../../../../examples/multi-label/recipe.mjs';
import { recipe as selfKd } from '../../../../examples/self-kd/recipe.mjs';
import { recipe as trg } from '../../../../examples/trg/recipe.mjs';
import type { Recipe } from '../recipe';

/** Every recipe the CLI runs, flagship first. */
export const recipes: Recipe[] = [
  deitLt,
  kd,
  selfKd,
  mdcs,
  trg,
  lavit,
  metaformer,
  mmformer,
  multiLabel,
  imbalancedClustering,
  fewShot,
];
