// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/lavit`
// (the same flags as `distillery run lavit`; `--help` lists them). The recipe itself is packages/recipes/src/recipes/lavit.ts.
import { runRecipeFromArgs } from '@distillery/cli';
import { getRecipe } from '@distillery/recipes';

process.exitCode = await runRecipeFromArgs(getRecipe('lavit'), process.argv.slice(2));
