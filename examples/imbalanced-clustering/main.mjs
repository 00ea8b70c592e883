// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/p2ot`
// (the same flags as `distillery run p2ot`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/p2ot.ts.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('p2ot'), process.argv.slice(2));
