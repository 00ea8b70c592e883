import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';

describe('WebGPU in Node (Dawn + SwiftShader)', () => {
  it('gives the same outputs and gradients as cpu within 1e-5 on every conformance case', async () => {
    expect(existsSync(swiftshader), `${swiftshader} (apt package chromium) is needed for software Vulkan`).toBe(true);
    const { stdout } = await run(process.execPath, [path.join(root, 'tests/support/webgpu-conformance.mjs')], {
      cwd: root,
      env: { ...process.env, VK_ICD_FILENAMES: swiftshader, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(report.backends).toEqual(['cpu', 'wasm', 'webgpu']);
    expect(report.errors).toEqual([]);
    expect(report.mismatches).toEqual([]);
    expect(report.cases).toBeGreaterThanOrEqual(15);
    expect(report.casesPerBackend.webgpu).toBe(report.cases);
    expect(report.maxError.webgpu).toBeLessThan(1e-5);
  });
});
