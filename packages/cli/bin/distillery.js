#!/usr/bin/env node
// The `distillery` command. This small committed file is the package's bin, so the link pnpm and npm make at install
// time has a target even before `pnpm build` has produced dist/ (a fresh clone's install otherwise warns "Failed to
// create bin" once per workspace package that depends on the CLI). It runs the built command.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('distillery: the command is not built yet (dist/bin.js is missing); run `pnpm build` first\n');
  process.exit(1);
}
await import(built.href);
