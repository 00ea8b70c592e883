// The README's first run: `pnpm start` (the deit-lt recipe, writing into runs/) and then `pnpm test`, whose lint step
// is `biome check .`. The run's output sits in the repository, so lint must skip what .gitignore ignores (biome's VCS
// integration); and `--backend auto` must not print the native Dawn/Vulkan noise of probing a software WebGPU adapter.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, root, runCli } from './support/cli.mjs';

const run = promisify(execFile);
// Where `pnpm start` writes is runs/deit-lt; a sibling folder under the same ignored runs/ keeps a user's own run.
const outRel = `runs/first-run-test-${process.pid}`;
const out = path.join(root, outRel);
let result: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  assertBuilt();
  result = await runCli(['run', 'deit-lt', '--smoke', '--backend', 'auto', '--progress', 'lines', '--out', outRel]);
}, 600_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('first run: the main job (smoke), then lint', () => {
  it('the main job runs and writes its metrics under runs/', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'))).toBeTypeOf('object');
  });

  it("runs/ is in .gitignore and 'biome check .' (the lint step of pnpm test) passes with the run's files present", async () => {
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n')).toContain('runs/');
    const biome = path.join(root, 'node_modules/.bin/biome');
    const lint = await run(biome, ['check', '.'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
    );
    expect(lint.output).not.toMatch(new RegExp(outRel));
    expect(lint.code, lint.output.slice(-2000)).toBe(0);
  });

  it('--backend auto prints the chosen backend and no Dawn/Vulkan lines', () => {
    expect(result.stdout).toMatch(/backend (tensorflow|webgpu|wasm|cpu)/);
    expect(result.stderr).not.toMatch(
      /XDG_RUNTIME_DIR|Vulkan|Dawn|dawn\/native|InitializeImpl|While initializing adapter/,
    );
  });
});
