import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');

describe('wasm threads in headless Chromium (built @distillery/tensor)', () => {
  it('run on Web Workers in a cross-origin-isolated page, and fall back to one thread with the reason elsewhere', async () => {
    expect(existsSync('/usr/bin/chromium'), '/usr/bin/chromium (apt package chromium)').toBe(true);
    const { stdout } = await run(process.execPath, [path.join(root, 'tests/support/browser-threads.mjs')], {
      cwd: root,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const { isolated, plain } = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    // Served with COOP/COEP: two threads, and the same bits as one thread.
    // Chromium has WebAssembly relaxed SIMD, so the matMul kernel runs its fused multiply-add there.
    expect(isolated.fatal).toBeUndefined();
    expect(isolated.crossOriginIsolated).toBe(true);
    expect(isolated.threads).toBe(2);
    expect(isolated.threadsReason).toBeNull();
    expect(isolated.detail).toBe('2 threads, fused multiply-add (relaxed SIMD)');
    expect(isolated.sizes).toEqual([4 * 128 * 128, 512 * 300, 2 * 20 * 20 * 64]);
    expect(isolated.differences).toBe(0);
    expect(isolated.logs.filter((l: string) => l.startsWith('pageerror'))).toEqual([]);
    // Without the headers: one thread, and the report says why.
    expect(plain.fatal).toBeUndefined();
    expect(plain.crossOriginIsolated).toBe(false);
    expect(plain.threads).toBe(1);
    expect(plain.threadsReason).toMatch(/cross-origin isolated.*Cross-Origin-Opener-Policy/);
  }, 300_000);
});
