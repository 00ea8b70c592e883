import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');

describe('ViT training on WebGPU in Node (Dawn + SwiftShader)', () => {
  it('takes Adam steps on a DeiT with a distillation token: finite, decreasing loss, no tensor growth', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(root, 'tests/support/webgpu-vit-training.mjs'), 'webgpu'],
      {
        cwd: root,
        env: {
          ...process.env,
          VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json',
          XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
        },
        timeout: 300_000,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(result.backend).toBe('webgpu');
    expect(result.losses.every(Number.isFinite)).toBe(true);
    expect(result.losses.at(-1)).toBeLessThan(result.losses[0]);
    expect(result.tensorsPerStep).toEqual([0, 0, 0, 0, 0]);
  });
});
