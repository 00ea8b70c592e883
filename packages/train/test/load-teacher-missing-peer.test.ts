// Without the optional peer @tensorflow/tfjs-layers (simulated: its import fails as an uninstalled package's does),
// loading a tfjs Layers model says which package to install.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { loadTeacher } from '../src/distill/load-teacher';

vi.mock('@tensorflow/tfjs-layers', () => {
  throw new Error("Cannot find package '@tensorflow/tfjs-layers'");
});

const dir = mkdtempSync(join(tmpdir(), 'load-teacher-peer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a tfjs Layers model without @tensorflow/tfjs-layers installed: one error naming the package to install', async () => {
  const file = join(dir, 'model.json');
  writeFileSync(join(dir, 'w.bin'), new Uint8Array(0));
  writeFileSync(
    file,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential' },
      weightsManifest: [{ paths: ['w.bin'], weights: [] }],
    }),
  );
  await expect(loadTeacher(file)).rejects.toThrow(
    /^source: a tfjs Layers model needs the optional package @tensorflow\/tfjs-layers, which could not be imported \(npm i @tensorflow\/tfjs-layers@4\.22\.0\)/,
  );
});
