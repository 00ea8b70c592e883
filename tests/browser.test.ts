import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');

describe('headless Chromium (Debian chromium + playwright-core)', () => {
  it('runs the built @distillery/tensor on WebGPU and wasm with cpu-identical outputs and gradients', async () => {
    expect(existsSync('/usr/bin/chromium'), '/usr/bin/chromium (apt package chromium)').toBe(true);
    const { stdout } = await run(process.execPath, [path.join(root, 'tests/support/browser-conformance.mjs')], {
      cwd: root,
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(summary.fatal).toBeUndefined();
    expect(summary.userAgent).toMatch(/HeadlessChrome/);
    expect(summary.backends).toEqual(['cpu', 'wasm', 'webgpu']);
    expect(summary.errors).toEqual([]);
    expect(summary.mismatches).toEqual([]);
    expect(summary.casesPerBackend.webgpu).toBe(summary.cases);
    expect(summary.casesPerBackend.wasm).toBe(summary.cases);
    expect(summary.cases).toBeGreaterThanOrEqual(15);
    const webgpu = summary.backendsSeen.find((b: { source: string }) => b.source === 'webgpu');
    expect(webgpu.available).toBe(true);
    expect(summary.logs.filter((l: string) => l.startsWith('pageerror'))).toEqual([]);
  });
});
