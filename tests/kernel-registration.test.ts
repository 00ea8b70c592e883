import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { root } from './support/packages.mjs';

// Importing Distillery must not change a host application's tfjs kernel registry (issue 14 item 6): the built
// packages are imported in plain Node after the host registered tfjs' cpu and wasm backends, and every kernel of
// both backends must still be the very same function. The explicit entry '@distillery/tensor/register' then does
// replace kernels (so the comparison can fail).
const run = promisify(execFile);

const body = `
const snapshot = () => {
  const map = new Map();
  for (const backend of ['cpu', 'wasm']) for (const k of tf.getKernelsForBackend(backend)) map.set(backend + '/' + k.kernelName, k.kernelFunc);
  for (const name of ['BatchMatMul', 'Equal', 'Greater', 'DistilleryAttention']) map.set('gradient/' + name, tf.getGradient(name)?.gradFunc);
  return map;
};
const diff = (a, b) => [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
// tfjs-core's own gradients are registered where none was (Node's tfjs-core has none); none may be REPLACED.
const replaced = (a, b) => diff(a, b).filter((k) => !k.startsWith('gradient/') || a.get(k) !== undefined);
const before = snapshot();
const kernelCount = tf.getKernelsForBackend('wasm').length;
await load('@distillery/tensor');
await load('@distillery/vit');
const afterImport = snapshot();
await load('@distillery/tensor/register');
const afterRegister = snapshot();
console.log(JSON.stringify({ kernelCount, changedByImport: replaced(before, afterImport), equalGradientAfterImport: typeof afterImport.get('gradient/Equal'), changedByRegister: diff(afterImport, afterRegister) }));`;

const scripts = {
  'kernel-registration.mjs': `import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
const load = (name) => import(name);
${body}`,
  'kernel-registration.cjs': `const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
require('@tensorflow/tfjs-backend-wasm');
const load = async (name) => require(name);
(async () => {${body}
})();`,
};

describe('importing the built packages leaves the kernel registry alone (plain Node)', () => {
  for (const [file, source] of Object.entries(scripts)) {
    it(`${file.endsWith('.cjs') ? 'CJS' : 'ESM'}: import changes no cpu/wasm kernel; '@distillery/tensor/register' does`, async () => {
      // Written at the repository root so that the workspace's built packages resolve as a user's would.
      mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
      const script = path.join(root, 'node_modules', '.cache', file);
      writeFileSync(script, source);
      const { stdout } = await run(process.execPath, [script], { cwd: root });
      const result = JSON.parse(stdout.trim().split('\n').at(-1) as string);
      expect(result.kernelCount).toBeGreaterThan(50);
      expect(result.changedByImport).toEqual([]);
      expect(result.equalGradientAfterImport).toBe('undefined'); // Distillery's zero gradients come with register
      for (const key of [
        'wasm/BatchMatMul',
        'wasm/Einsum',
        'cpu/Transform',
        'wasm/DistilleryLayerNorm',
        'cpu/DistilleryGelu',
        'wasm/DistilleryAdamWUpdate',
        'cpu/DistilleryAttention',
        'wasm/DistilleryAttentionGrad',
        'wasm/DistilleryBatchNormTrain',
        'cpu/DistilleryBatchNormTrainGrad',
        'wasm/Identity',
        'gradient/BatchMatMul',
        'gradient/Equal',
        'gradient/DistilleryAttention',
      ]) {
        expect(result.changedByRegister).toContain(key);
      }
    });
  }
});
