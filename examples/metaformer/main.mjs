// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/metaformer`
// (the same flags as `distillery run metaformer`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/metaformer.ts.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('metaformer'), process.argv.slice(2));
