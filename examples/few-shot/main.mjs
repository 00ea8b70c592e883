// Run this recipe as a plain script: `node main.mjs --epochs 30 --backend wasm --out runs/few-shot`
// (the same flags as `distillery run few-shot`; `--help` lists them).
import { runRecipeFromArgs } from '@distillery/cli';
import { recipe } from './recipe.mjs';

process.exitCode = await runRecipeFromArgs(recipe, process.argv.slice(2));
