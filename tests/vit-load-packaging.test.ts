// The built @distillery/vit in plain Node: saveModel from the main entry, loadModel from `@distillery/vit/load`
// (ESM and CJS), the same logits, one VisionTransformer class across both entries, and the load entry free of the
// training-time modules. Packs only @distillery/tensor and @distillery/vit (tests/packaging.test.ts packs all).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './support/packages.mjs';

const run = promisify(execFile);
const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-vit-load-'));
const app = path.join(work, 'app');

beforeAll(async () => {
  const tarballs: string[] = [];
  for (const name of ['tensor', 'vit']) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', work], {
      cwd: path.join(root, 'packages', name),
    });
    const file = stdout.trim().split('\n').at(-1) as string;
    tarballs.push(path.isAbsolute(file) ? file : path.join(work, path.basename(file)));
  }
  await run('mkdir', ['-p', app]);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }));
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', '@tensorflow/tfjs-core@4.22.0', ...tarballs],
    {
      cwd: app,
      timeout: 300_000,
    },
  );
}, 400_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const saveScript = `
import { initBackend, tf } from '@distillery/tensor';
import { VisionTransformer, resnet18, saveModel } from '@distillery/vit';
await initBackend('cpu');
const vit = new VisionTransformer({ imageSize: 8, patchSize: 2, embedDim: 8, depth: 1, numHeads: 2, numClasses: 3, distilled: true, seed: 1 });
await saveModel(vit, { dir: 'deit', classes: ['a', 'b', 'c'] });
const resnet = resnet18({ numClasses: 2, seed: 2 });
await saveModel(resnet, { dir: 'resnet' });
const x8 = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 5);
const x16 = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 5);
console.log(JSON.stringify({ deit: Array.from(vit.forward(x8).logits.dataSync()), resnet: Array.from(resnet.forward(x16).logits.dataSync()) }));
`;

const loadBody = `
const out = {};
for (const [dir, size] of [['deit', 8], ['resnet', 16]]) {
  const loaded = await load.loadModel(dir + '/model.json');
  const x = tensor.tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 5);
  out[dir] = { logits: Array.from(loaded.logits(x).dataSync()), architecture: loaded.architecture, classes: loaded.classes ?? null };
}
const deit = await load.loadModel('deit/model.json');
out.sameClass = deit.model instanceof vit.VisionTransformer;
try { await load.loadModel('missing/model.json'); } catch (e) { out.error = [e instanceof tensor.DistilleryError, e.message]; }
console.log(JSON.stringify(out));`;

describe('@distillery/vit/load from the packed package, in plain Node', () => {
  it('saveModel (ESM), then loadModel from the load entry in ESM and CJS: same logits, one class, clear errors', async () => {
    writeFileSync(path.join(app, 'save.mjs'), saveScript);
    const saved = JSON.parse(
      (await run(process.execPath, ['save.mjs'], { cwd: app })).stdout.trim().split('\n').at(-1)!,
    );
    writeFileSync(
      path.join(app, 'load.mjs'),
      `import * as tensor from '@distillery/tensor'; import * as load from '@distillery/vit/load'; import * as vit from '@distillery/vit';
await tensor.initBackend('cpu');${loadBody}`,
    );
    writeFileSync(
      path.join(app, 'load.cjs'),
      `const tensor = require('@distillery/tensor'); const load = require('@distillery/vit/load'); const vit = require('@distillery/vit');
(async () => { await tensor.initBackend('cpu');${loadBody} })();`,
    );
    for (const file of ['load.mjs', 'load.cjs']) {
      const { stdout } = await run(process.execPath, [file], { cwd: app });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
      expect(result.deit, file).toEqual({ logits: saved.deit, architecture: 'deit', classes: ['a', 'b', 'c'] });
      expect(result.resnet, file).toEqual({ logits: saved.resnet, architecture: 'resnet18', classes: null });
      expect(result.sameClass, file).toBe(true);
      expect(result.error, file).toEqual([true, 'missing/model.json: could not read (no such file)']);
    }
  }, 120_000);

  it('the load entry does not pull in the training-only models (LaViT, MetaFormer, MMFormer)', () => {
    const dist = path.join(app, 'node_modules/@distillery/vit/dist');
    const manifest = JSON.parse(readFileSync(path.join(app, 'node_modules/@distillery/vit/package.json'), 'utf8'));
    const entry = manifest.exports['./load'].import.default as string;
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(path.join(dist, file), 'utf8');
      for (const m of source.matchAll(/from ['"]\.\/([^'"]+)['"]/g)) visit(m[1]!);
    };
    visit(path.relative('dist', entry));
    const code = [...seen].map((f) => readFileSync(path.join(dist, f), 'utf8')).join('\n');
    // esbuild emits `var Name = class …`.
    expect(code).toMatch(/\bVisionTransformer = class\b/);
    expect(code).toMatch(/\bResNet = class\b/);
    expect(code).not.toMatch(/\b(LaViT|MetaFormer|MMFormer) = class\b/);
  });
});
