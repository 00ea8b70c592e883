// Fashion-MNIST from a file picker in headless Chromium (tests/support/browser-idx.mjs): the built @distillery/data's
// loadIdx reads the real Debian IDX files (gzip, DecompressionStream) and names a truncated file in its error.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const ROOT = '/usr/share/datasets/fashion-mnist';
// As in packages/data's IDX tests: skipped with a message without the Debian package, except in CI.
const present = existsSync(path.join(ROOT, 't10k-images-idx3-ubyte.gz'));
if (!present && !process.env.CI) console.warn(`Skipping the browser IDX test: ${ROOT} is missing.`);

describe.runIf(present || process.env.CI)('Fashion-MNIST from a file picker in headless Chromium', () => {
  it('loadIdx reads the picked t10k files (gzip) as the Node loader does, and names a truncated one', async () => {
    expect(existsSync(ROOT), `${ROOT} (apt package dataset-fashion-mnist)`).toBe(true);
    expect(existsSync('/usr/bin/chromium'), '/usr/bin/chromium (apt package chromium)').toBe(true);
    const { stdout } = await run(process.execPath, [path.join(root, 'tests/support/browser-idx.mjs')], {
      cwd: root,
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const { real, corrupt, logs } = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(logs).toEqual([]);
    // In the page there is no Node `process`: the gzip went through DecompressionStream.
    expect(real.nodeProcess).toBe(false);
    expect(real.length).toBe(10000);
    expect(real.imageShape).toEqual([28, 28, 1]);
    expect(real.classCounts).toEqual(new Array(10).fill(1000));
    expect(real.firstLabels).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    // The same pixel sum as the Node test (computed independently with Python's gzip module).
    expect(real.pixelSum).toBe(573469082);
    expect(real.classNames[9]).toBe('Ankle boot');
    expect(corrupt).toMatchObject({ name: 'DistilleryError', code: 'FORMAT', argument: 't10k-labels-idx1-ubyte.gz' });
    expect(corrupt.message).toMatch(/gzip/);
  }, 300_000);
});
