// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/uskd`
// (the same flags as `distillery run uskd`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/uskd.js.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('uskd'), process.argv.slice(2));
