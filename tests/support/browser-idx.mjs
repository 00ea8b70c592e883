// Fashion-MNIST in a browser, the way an app gets it: the built @distillery/data bundled for the browser, a page with
// a file input, and Playwright choosing the real Debian IDX files (gzip) in it, as a person would in a file picker.
// The page runs loadIdx on the File objects (DecompressionStream: there is no Node zlib in a page), then on a
// truncated copy, and publishes what it read on window.__idx. Prints that as JSON on the last line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium } from './chromium.mjs';
import { servePage } from './serve-page.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDist = path.join(here, '../../packages/data/dist/index.js');
const ROOT = process.env.FASHION_MNIST_ROOT ?? '/usr/share/datasets/fashion-mnist';
const images = path.join(ROOT, 't10k-images-idx3-ubyte.gz');
const labels = path.join(ROOT, 't10k-labels-idx1-ubyte.gz');

const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-idx-page-'));
const page = `
import { FASHION_MNIST_CLASSES, loadIdx } from ${JSON.stringify(dataDist)};
const input = document.getElementById('files');
input.addEventListener('change', async () => {
  const byName = Object.fromEntries([...input.files].map((f) => [f.name, f]));
  const pick = (part) => Object.values(byName).find((f) => f.name.includes(part));
  try {
    const ds = await loadIdx({ images: pick('images'), labels: pick('labels'), classNames: FASHION_MNIST_CLASSES });
    let sum = 0;
    for (let i = 0; i < ds.length; i++) for (const v of ds.rawImage(i)) sum += v;
    window.__idx = {
      nodeProcess: typeof process !== 'undefined',
      length: ds.length,
      imageShape: ds.imageShape,
      classCounts: ds.classCounts(),
      firstLabels: Array.from(ds.labels().subarray(0, 10)),
      pixelSum: sum,
      classNames: ds.classNames,
    };
  } catch (error) {
    window.__idx = { name: error.name, code: error.code, argument: error.argument, message: error.message };
  }
});
`;
await build({
  stdin: { contents: page, resolveDir: here, loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: path.join(out, 'page.js'),
  logLevel: 'error',
  // Node's modules stay out of the page, as an app bundler leaves them out: the Node-only readers (loadFashionMnist,
  // loadIdx of a path, loadImageFolder's codecs) import them lazily, so a page that passes Files never loads them.
  external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
  define: { 'process.env.NODE_ENV': '"production"' },
});
writeFileSync(
  path.join(out, 'index.html'),
  '<!doctype html><meta charset="utf-8"><title>idx</title><input type="file" id="files" multiple><script type="module" src="/page.js"></script>',
);
// A truncated copy of the labels file (gzip cut short): one clear error naming the file.
const cut = path.join(out, 't10k-labels-idx1-ubyte.gz');
writeFileSync(cut, readFileSync(labels).subarray(0, 2000));

const server = await servePage({ '/': path.join(out, 'index.html'), '/page.js': path.join(out, 'page.js') });
const browser = await launchChromium();
const logs = [];
try {
  const tab = await browser.context.newPage();
  tab.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await tab.goto(`${server.url}/`);
  const read = async (files) => {
    await tab.evaluate(() => {
      window.__idx = undefined;
    });
    await tab.setInputFiles('#files', files);
    await tab.waitForFunction(() => window.__idx !== undefined, null, { timeout: 120_000 });
    return tab.evaluate(() => window.__idx);
  };
  const real = await read([images, labels]);
  const corrupt = await read([images, cut]);
  console.log(JSON.stringify({ real, corrupt, logs }));
} finally {
  await browser.close();
  await server.close();
  rmSync(out, { recursive: true, force: true });
}
