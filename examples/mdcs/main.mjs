// Run this recipe as a plain script: `node main.mjs --epochs 40 --backend wasm --out runs/mdcs`
// (the same flags as `distillery run mdcs`; `--help` lists them).
import { runRecipeFromArgs } from '@distillery/cli';
import { recipe } from './recipe.mjs';

process.exitCode = await runRecipeFromArgs(recipe, process.argv.slice(2));
