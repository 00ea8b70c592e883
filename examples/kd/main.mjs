// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/kd`
// (the same flags as `distillery run kd`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/kd.js.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('kd'), process.argv.slice(2));
