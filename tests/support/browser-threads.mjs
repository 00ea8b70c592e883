// Bundles tests/support/threads-page.js against the built @distillery/tensor, serves it on 127.0.0.1 twice — with
// COOP/COEP headers (cross-origin isolated: SharedArrayBuffer, so the thread pool runs on Web Workers) and without
// (one thread, and the reason) — and runs each in headless Chromium. Prints {isolated, plain} as JSON on the last line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium } from './chromium.mjs';
import { servePage } from './serve-page.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../packages/tensor/package.json'));
const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));

const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-threads-page-'));
await build({
  entryPoints: [path.join(here, 'threads-page.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: path.join(out, 'page.js'),
  logLevel: 'error',
  define: { 'process.env.NODE_ENV': '"production"' },
});
writeFileSync(
  path.join(out, 'index.html'),
  '<!doctype html><meta charset="utf-8"><title>threads</title><script type="module" src="/page.js"></script>',
);
const routes = { '/': path.join(out, 'index.html'), '/page.js': path.join(out, 'page.js') };
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  routes[`/wasm/${f}`] = path.join(wasmDir, 'dist', f);
}

async function visit(headers) {
  const server = await servePage(routes, headers);
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.__threads !== undefined, null, { timeout: 240_000 });
    const result = await page.evaluate(() => window.__threads);
    result.logs = logs.filter((l) => !l.includes('already registered')).slice(0, 20);
    return result;
  } finally {
    await browser.close();
    await server.close();
  }
}

const isolated = await visit({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
});
const plain = await visit({});
console.log(JSON.stringify({ isolated, plain }));
