import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper
import { root, workspacePackages } from './support/packages.mjs';

const run = promisify(execFile);
const packages = workspacePackages() as { dir: string; manifest: { name: string; version: string } }[];
const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-pack-'));
const tarballs: Record<string, string> = {};

beforeAll(async () => {
  // pnpm pack rewrites workspace: ranges to real versions, as a publish would.
  for (const pkg of packages) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', work], { cwd: pkg.dir });
    const file = stdout.trim().split('\n').at(-1) as string;
    tarballs[pkg.manifest.name] = path.isAbsolute(file) ? file : path.join(work, path.basename(file));
  }
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('package metadata', () => {
  for (const pkg of packages) {
    it(`${pkg.manifest.name}: publint finds no error or warning`, async () => {
      const { messages, pkg: manifest } = await publint({
        pkgDir: pkg.dir,
        level: 'warning',
        strict: true,
        pack: 'pnpm',
      });
      expect(messages.map((m) => formatMessage(m, manifest))).toEqual([]);
    });

    it(`${pkg.manifest.name}: types resolve for node10, node16 (CJS and ESM) and bundlers (attw)`, async () => {
      const attw = path.join(root, 'node_modules/.bin/attw');
      const result = await run(attw, [tarballs[pkg.manifest.name] as string, '--format', 'json'], { cwd: root }).catch(
        (error: { stdout: string }) => ({ stdout: error.stdout }),
      );
      const report = JSON.parse(result.stdout);
      const problems = (report.analysis?.problems ?? []) as {
        kind: string;
        entrypoint?: string;
        resolutionKind?: string;
      }[];
      expect(problems.map((p) => `${p.kind} ${p.entrypoint ?? ''} ${p.resolutionKind ?? ''}`)).toEqual([]);
    });
  }
});

describe('the packed packages in plain Node, outside the workspace', () => {
  const app = path.join(work, 'app');

  beforeAll(async () => {
    rmSync(app, { recursive: true, force: true });
    await run('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }));
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '@tensorflow/tfjs-core@4.22.0',
        ...Object.values(tarballs),
      ],
      { cwd: app, timeout: 300_000 },
    );
  }, 300_000);

  const gradientScript = (kind: 'cjs' | 'esm') => `
${kind === 'cjs' ? "const { tf, initBackend } = require('@distillery/tensor');" : "import { tf, initBackend } from '@distillery/tensor';"}
${kind === 'cjs' ? '(async () => {' : ''}
const backend = await initBackend('wasm');
const x = tf.tensor1d([1, 2, 3]);
// chained ops and gradients both need registering: tfjs-core alone does neither in Node
const grad = tf.grad((a) => a.square().mul(3).sum())(x);
console.log(JSON.stringify({ backend, grad: Array.from(await grad.data()) }));
${kind === 'cjs' ? '})();' : ''}`;

  it('CJS: node -e require() initialises wasm and takes a gradient', async () => {
    const { stdout } = await run(process.execPath, ['-e', gradientScript('cjs')], { cwd: app });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual({ backend: 'wasm', grad: [6, 12, 18] });
  });

  it('ESM: node x.mjs import initialises wasm and takes a gradient', async () => {
    writeFileSync(path.join(app, 'x.mjs'), gradientScript('esm'));
    const { stdout } = await run(process.execPath, ['x.mjs'], { cwd: app });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual({ backend: 'wasm', grad: [6, 12, 18] });
  });

  it('every package loads through require() and import with its exports', async () => {
    const names = packages.map((p) => p.manifest.name);
    const script = (kind: 'cjs' | 'esm') =>
      kind === 'cjs'
        ? `const out = {}; for (const n of ${JSON.stringify(names)}) out[n] = Object.keys(require(n)).length; console.log(JSON.stringify(out));`
        : `const out = {}; for (const n of ${JSON.stringify(names)}) out[n] = Object.keys(await import(n)).length; console.log(JSON.stringify(out));`;
    const cjs = await run(process.execPath, ['-e', script('cjs')], { cwd: app });
    writeFileSync(path.join(app, 'all.mjs'), script('esm'));
    const esm = await run(process.execPath, ['all.mjs'], { cwd: app });
    for (const output of [cjs.stdout, esm.stdout]) {
      const counts = JSON.parse(output.trim().split('\n').at(-1) as string) as Record<string, number>;
      for (const name of names) expect(counts[name], name).toBeGreaterThan(0);
    }
  });

  for (const pkg of packages) {
    it(`${pkg.manifest.name}: the README's first js example runs as written`, async () => {
      const readme = readFileSync(path.join(pkg.dir, 'README.md'), 'utf8');
      const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example, `${pkg.manifest.name}/README.md has a \`\`\`js example`).toBeTruthy();
      const file = path.join(app, `readme-${path.basename(pkg.dir)}.mjs`);
      writeFileSync(file, example as string);
      await run(process.execPath, [file], { cwd: app, timeout: 120_000 });
    });
  }

  it('installs no second copy of @tensorflow/tfjs-core', () => {
    const nested = readdirSync(path.join(app, 'node_modules/@distillery')).filter((name) => {
      try {
        readdirSync(path.join(app, 'node_modules/@distillery', name, 'node_modules/@tensorflow/tfjs-core'));
        return true;
      } catch {
        return false;
      }
    });
    expect(nested).toEqual([]);
  });
});
