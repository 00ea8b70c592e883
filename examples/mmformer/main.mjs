// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/mmformer`
// (the same flags as `distillery run mmformer`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/mmformer.ts.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('mmformer'), process.argv.slice(2));
