import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('one DistilleryError class: errors from @distillery/samplers and vit are instanceof the one of @distillery/tensor (CJS and ESM)', async () => {
    // The user may import the class from '@distillery/tensor' or '@distillery/tensor/errors', and packages from either;
    // two bundled copies of errors.ts once made `instanceof` false.
    const body = `
const caught = [];
const attempt = (name, f) => { try { f(); caught.push([name, 'no error']); } catch (e) {
  caught.push([name, e instanceof tensor.DistilleryError, e instanceof errors.DistilleryError, e.name]); } };
attempt('samplers.classCounts', () => samplers.classCounts([0, -1]));
attempt('samplers.batchCount', () => samplers.batchCount(-1, 2));
attempt('vit.encodeTemporal', () => vit.encodeTemporal(13, 0));
attempt('vit.encodeSpatial', () => vit.encodeSpatial(100, 10));
console.log(JSON.stringify({ same: tensor.DistilleryError === errors.DistilleryError, caught }));`;
    const cjs = `const tensor = require('@distillery/tensor'); const errors = require('@distillery/tensor/errors');
const samplers = require('@distillery/samplers'); const vit = require('@distillery/vit');${body}`;
    const esm = `import * as tensor from '@distillery/tensor'; import * as errors from '@distillery/tensor/errors';
import * as samplers from '@distillery/samplers'; import * as vit from '@distillery/vit';${body}`;
    writeFileSync(path.join(app, 'one-error.cjs'), cjs);
    writeFileSync(path.join(app, 'one-error.mjs'), esm);
    for (const file of ['one-error.cjs', 'one-error.mjs']) {
      const { stdout } = await run(process.execPath, [file], { cwd: app });
      const result = JSON.parse(stdout.trim().split('\n').at(-1) as string);
      expect(result, file).toEqual({
        same: true,
        caught: ['samplers.classCounts', 'samplers.batchCount', 'vit.encodeTemporal', 'vit.encodeSpatial'].map(
          (name) => [name, true, true, 'DistilleryError'],
        ),
      });
    }
  });

  it('one DistilleryError class in the browser build too (the browser condition of . and ./errors)', async () => {
    const manifest = JSON.parse(
      readFileSync(path.join(app, 'node_modules/@distillery/tensor/package.json'), 'utf8'),
    ) as { exports: Record<string, { browser: { default: string } }> };
    const dir = path.join(app, 'node_modules/@distillery/tensor');
    const index = manifest.exports['.']?.browser.default as string;
    const errors = manifest.exports['./errors']?.browser.default as string;
    expect(errors).toMatch(/browser/);
    // Only the errors module is loaded (the browser index imports the browser-only tfjs builds); both entries must
    // re-export the class from the same shared chunk rather than each define their own.
    const chunkOf = (file: string) => {
      const source = readFileSync(path.join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/DistilleryError = class/);
      return /export \{[^}]*\bDistilleryError\b[^}]*\} from ['"](\.\/[^'"]+)['"]/.exec(source)?.[1];
    };
    const fromIndex = chunkOf(index);
    expect(fromIndex).toBeTruthy();
    expect(chunkOf(errors)).toBe(fromIndex);
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
