// Bundles tests/support/browser-page.js against the built packages, serves it on 127.0.0.1 and runs it in headless
// Chromium. Prints the conformance summary as JSON on the last line.
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

const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-page-'));
await build({
  entryPoints: [path.join(here, 'browser-page.js')],
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
  '<!doctype html><meta charset="utf-8"><title>conformance</title><script type="module" src="/page.js"></script>',
);

const routes = { '/': path.join(out, 'index.html'), '/page.js': path.join(out, 'page.js') };
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  routes[`/wasm/${f}`] = path.join(wasmDir, 'dist', f);
}
const server = await servePage(routes);
const browser = await launchChromium();
try {
  const page = await browser.context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.__conformance !== undefined, null, { timeout: 240_000 });
  const summary = await page.evaluate(() => window.__conformance);
  summary.userAgent = await page.evaluate(() => navigator.userAgent);
  summary.logs = logs.filter((l) => !l.includes('already registered')).slice(0, 20);
  console.log(JSON.stringify(summary));
} finally {
  await browser.close();
  await server.close();
}
