// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/mdcs`
// (the same flags as `distillery run mdcs`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/mdcs.js.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('mdcs'), process.argv.slice(2));
