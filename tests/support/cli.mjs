// Runs the built `distillery` command (packages/cli/dist/bin.js) in a child process, as a user would.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bin = path.join(root, 'packages/cli/dist/bin.js');

/** Throws unless the CLI is built (these tests run the built bin: `pnpm build` first). */
export function assertBuilt() {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run 'pnpm build' first`);
}

/**
 * Starts `node bin.js ...args`. `done` resolves to { code, signal, stdout, stderr }; `child` is the process (to
 * signal it). Progress goes to plain lines (no TTY).
 */
export function startCli(args) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the CLI to the end. */
export function runCli(args) {
  return startCli(args).done;
}

/** Resolves once `file` exists (polling), or rejects after `timeoutMs`. */
export async function waitForFile(file, timeoutMs = 60_000) {
  const start = Date.now();
  while (!existsSync(file)) {
    if (Date.now() - start > timeoutMs) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
