// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/trg`
// (the same flags as `distillery run trg`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/trg.js.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('trg'), process.argv.slice(2));
