// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/scpnet`
// (the same flags as `distillery run scpnet`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/scpnet.ts.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('scpnet'), process.argv.slice(2));
