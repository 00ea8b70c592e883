// The browser app (examples/browser) trains in a Web Worker: built with Vite, served twice and driven in Debian's
// headless Chromium (tests/support/chromium.mjs).
// (a) By `vite preview`, whose config sends COOP/COEP: the page is cross-origin isolated, a smoke recipe trains in the
//     worker on the wasm thread pool (navigator.hardwareConcurrency threads: 2 here), the main thread keeps ticking
//     during the run, the report and weights arrive; Cancel terminates the worker.
// (b) By a plain static server without the two headers: the page says "1 thread" and why, and the run still finishes.
// (c) The IDX panel reads the real Fashion-MNIST t10k pair from the file input, and shows the loader's one-line error
//     for a truncated file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.mjs';
import { servePage } from './support/serve-page.mjs';

const root = path.resolve(__dirname, '..');
const appDir = path.join(root, 'examples/browser');
const appRequire = createRequire(path.join(appDir, 'package.json'));
const FASHION = '/usr/share/datasets/fashion-mnist';
/** The fastest recipe of the registry in smoke mode. */
const RECIPE = 'kd';

type Run = { recipe: string; backend: string; threads: number | null; engine: string; seconds: number };
type Launched = { context: import('playwright-core').BrowserContext; close(): Promise<void> };
type Preview = { close(): Promise<void>; resolvedUrls: { local: string[] } | null };

let outDir: string;
let scratch: string;
let preview: Preview;
let plain: { url: string; close(): Promise<void> };
let browser: Launched;
const pageErrors: string[] = [];

async function open(url: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return page;
}

/** Starts a main-thread tick counter (every 20 ms) that records the longest gap between ticks. */
const startTicks = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __ticks: { count: number; last: number; maxGap: number } };
    w.__ticks = { count: 0, last: performance.now(), maxGap: 0 };
    setInterval(() => {
      const now = performance.now();
      w.__ticks.maxGap = Math.max(w.__ticks.maxGap, now - w.__ticks.last);
      w.__ticks.last = now;
      w.__ticks.count++;
    }, 20);
  });
const ticks = (page: Page) =>
  page.evaluate(() => (window as unknown as { __ticks: { count: number; maxGap: number } }).__ticks);

/** Trains RECIPE (smoke) on wasm and waits for done or error; returns the status, the log and the run. */
async function trainWasm(page: Page) {
  await page.selectOption('#backend', 'wasm');
  await page.selectOption('#recipe', RECIPE);
  await page.selectOption('#mode', 'smoke');
  const started = Date.now();
  await page.click('#start');
  await page.waitForFunction(
    () => ['done', 'error'].includes((document.getElementById('status') as HTMLElement).dataset.state ?? ''),
    null,
    { timeout: 150_000, polling: 200 },
  );
  const seconds = (Date.now() - started) / 1000;
  const status = await page.evaluate(() => {
    const s = document.getElementById('status') as HTMLElement;
    return { state: s.dataset.state, text: s.textContent, threads: document.getElementById('threads')?.textContent };
  });
  const run = await page.evaluate(
    () => (window as unknown as { __distilleryApp: { runs: Run[] } }).__distilleryApp.runs.at(-1) ?? null,
  );
  return { ...status, seconds, run, log: (await page.textContent('#log')) ?? '' };
}

describe.runIf(process.env.CI || statSync('/usr/bin/chromium', { throwIfNoEntry: false }))(
  'the browser app trains in a Web Worker (headless Chromium)',
  () => {
    beforeAll(async () => {
      const vite = await import(pathToFileURL(appRequire.resolve('vite')).href);
      outDir = mkdtempSync(path.join(os.tmpdir(), 'distillery-browser-worker-'));
      scratch = mkdtempSync(path.join(os.tmpdir(), 'distillery-browser-worker-files-'));
      await vite.build({
        configFile: path.join(appDir, 'vite.config.mjs'),
        root: appDir,
        logLevel: 'error',
        build: { outDir, emptyOutDir: true },
      });
      // (a) vite preview: the config's COOP/COEP headers.
      preview = await vite.preview({
        configFile: path.join(appDir, 'vite.config.mjs'),
        root: appDir,
        logLevel: 'error',
        build: { outDir },
        preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
      });
      // (b) the same files from a static server without the two headers.
      const routes: Record<string, string> = {};
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const file = path.join(dir, name);
          if (statSync(file).isDirectory()) walk(file);
          else routes[`/${path.relative(outDir, file).split(path.sep).join('/')}`] = file;
        }
      };
      walk(outDir);
      routes['/'] = path.join(outDir, 'index.html');
      plain = await servePage(routes);
      browser = await launchChromium();
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await preview?.close();
      await plain?.close();
      for (const dir of [outDir, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('with COOP/COEP: isolated, trains in the worker on all cores, the main thread keeps ticking', async () => {
      const page = await open(preview.resolvedUrls?.local[0] as string);
      const env = await page.evaluate(() => ({
        isolated: globalThis.crossOriginIsolated,
        cores: navigator.hardwareConcurrency,
      }));
      expect(env.isolated).toBe(true);
      await startTicks(page);
      const before = await ticks(page);
      const result = await trainWasm(page);
      const after = await ticks(page);
      const tickRate = (after.count - before.count) / result.seconds;
      console.log(
        `isolated: ${result.state} in ${result.seconds.toFixed(1)} s: ${result.text} | ${result.threads} | ` +
          `main thread: ${tickRate.toFixed(1)} ticks/s, longest gap ${after.maxGap.toFixed(0)} ms`,
      );
      expect(result.state, result.log).toBe('done');
      expect(result.run?.recipe).toBe(RECIPE);
      expect(result.run?.backend).toBe('wasm');
      expect(result.run?.threads).toBe(env.cores);
      expect(env.cores).toBeGreaterThanOrEqual(2);
      expect(result.threads).toBe(`Engine: wasm, ${env.cores} threads`);
      expect(result.log).toContain(`backend: wasm, ${env.cores} threads; recipe: ${RECIPE}`);
      // The report's table and the weights (transferred from the worker) reached the page.
      expect(await page.locator('#results table tbody tr').count()).toBeGreaterThanOrEqual(1);
      expect(await page.locator('#downloads a').count()).toBeGreaterThanOrEqual(1);
      // The main thread never blocked for long while the worker trained (a main-thread run blocks for whole epochs).
      expect(after.maxGap).toBeLessThan(1000);
      expect(tickRate).toBeGreaterThan(5);

      // Cancel terminates the worker at once.
      await page.selectOption('#mode', 'small');
      await page.click('#start');
      await page.waitForFunction(
        () => ((document.getElementById('threads') as HTMLElement).dataset.threads ?? '') !== '',
        null,
        {
          timeout: 60_000,
        },
      );
      const t0 = Date.now();
      await page.click('#cancel');
      await page.waitForFunction(
        () => (document.getElementById('status') as HTMLElement).dataset.state === 'cancelled',
        null,
        { timeout: 5_000 },
      );
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(await page.locator('#start').isEnabled()).toBe(true);
      expect(pageErrors).toEqual([]);
      await page.close();
    }, 200_000);

    it('without the headers: one thread and the reason, and the run still finishes', async () => {
      const page = await open(`${plain.url}/`);
      expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
      expect(await page.textContent('#threads')).toMatch(/1 thread: the page is not cross-origin isolated/);
      const result = await trainWasm(page);
      console.log(`not isolated: ${result.state} in ${result.seconds.toFixed(1)} s: ${result.text}`);
      expect(result.state, result.log).toBe('done');
      expect(result.run?.threads).toBe(1);
      expect(result.threads).toMatch(
        /^Engine: wasm, 1 thread: the page is not cross-origin isolated \(it was served without Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp\)/,
      );
      expect(result.text).toMatch(/^Done: kd on wasm, 1 thread: .* in [\d.]+ s/);
      expect(await page.locator('#downloads a').count()).toBeGreaterThanOrEqual(1);
      expect(pageErrors).toEqual([]);
      await page.close();
    }, 200_000);

    it.runIf(process.env.CI || statSync(FASHION, { throwIfNoEntry: false }))(
      'reads the picked Fashion-MNIST t10k pair (1,000 per class, images drawn) and shows the error of a truncated file',
      async () => {
        const page = await open(preview.resolvedUrls?.local[0] as string);
        const images = path.join(FASHION, 't10k-images-idx3-ubyte.gz');
        const labels = path.join(FASHION, 't10k-labels-idx1-ubyte.gz');
        const pick = async (files: string[]) => {
          await page.evaluate(() => {
            (document.getElementById('idx-status') as HTMLElement).dataset.state = 'idle';
          });
          const t0 = Date.now();
          await page.setInputFiles('#idx-files', files);
          await page.waitForFunction(
            () =>
              ['done', 'error'].includes((document.getElementById('idx-status') as HTMLElement).dataset.state ?? ''),
            null,
            { timeout: 60_000, polling: 100 },
          );
          return {
            seconds: (Date.now() - t0) / 1000,
            state: await page.getAttribute('#idx-status', 'data-state'),
            text: await page.textContent('#idx-status'),
          };
        };
        const real = await pick([images, labels]);
        console.log(`IDX t10k pair: ${real.state} in ${real.seconds.toFixed(1)} s: ${real.text}`);
        expect(real.state, real.text ?? '').toBe('done');
        const idx = await page.evaluate(
          () =>
            (window as unknown as { __distilleryApp: { idx: { length: number; counts: number[] }[] } }).__distilleryApp
              .idx,
        );
        expect(idx.length).toBe(1);
        expect(idx[0]!.length).toBe(10_000);
        expect(idx[0]!.counts).toEqual(new Array(10).fill(1000));
        const cells = await page.locator('.idx-pair tbody td').allTextContents();
        expect(cells).toEqual(new Array(10).fill('1000'));
        expect(await page.locator('.idx-pair th').first().textContent()).toBe('0 T-shirt/top');
        // The first image of each class is drawn: dark pixels on white, in each of the 10 tiles.
        const inked = await page.evaluate(() => {
          const canvas = document.querySelector('.idx-pair canvas') as HTMLCanvasElement;
          const g = canvas.getContext('2d') as CanvasRenderingContext2D;
          const tile = canvas.width / 10;
          return Array.from({ length: 10 }, (_, k) => {
            const { data } = g.getImageData(Math.round(k * tile), 0, Math.floor(tile) - 8, 56);
            let dark = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i]! < 128) dark++;
            return dark;
          });
        });
        for (const n of inked) expect(n).toBeGreaterThan(50);

        // A truncated labels file: the loader's one-line error, naming the file.
        const cut = path.join(scratch, 't10k-labels-idx1-ubyte.gz');
        writeFileSync(cut, readFileSync(labels).subarray(0, 2000));
        const corrupt = await pick([images, cut]);
        console.log(`IDX truncated labels: ${corrupt.state}: ${corrupt.text}`);
        expect(corrupt.state).toBe('error');
        expect(corrupt.text).toContain('t10k-labels-idx1-ubyte.gz');
        expect(corrupt.text).toMatch(/gzip/);
        expect(corrupt.text).not.toContain('\n');
        expect(await page.locator('.idx-pair').count()).toBe(0);
        expect(pageErrors).toEqual([]);
        await page.close();
      },
      120_000,
    );
  },
);
