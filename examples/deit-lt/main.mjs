// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/deit-lt`
// (the same flags as `distillery run deit-lt`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/deit-lt.js.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('deit-lt'), process.argv.slice(2));
