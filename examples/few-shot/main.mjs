// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/gp-maml`
// (the same flags as `distillery run gp-maml`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/gp-maml.ts.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('gp-maml'), process.argv.slice(2));
