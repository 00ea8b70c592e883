// The browser app's "Distill your own" page (examples/browser, distill-own-panel.js) in Debian's headless Chromium:
// a teacher exported from Node (`distillery train` of the built CLI writes model.json + model.safetensors), a folder
// of generated PNGs (examples/distill-own/make-images.mjs) picked with setInputFiles on the webkitdirectory input,
// decoded by the browser, 2 epochs of kd in the training worker, then the downloaded student loaded with loadModel in
// Node gives the page's logits on the page's pixels. Also a tfjs Layers teacher by URL, bad input (a teacher of
// another class count, an empty class folder, an unreadable image) as one message on the page, and Cancel.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend, tf } from '@distillery/tensor';
import { expectClose } from '@distillery/test-support';
import { createViT, saveModel } from '@distillery/vit';
import { loadModel } from '@distillery/vit/load';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.mjs';
import { assertBuilt, runCli } from './support/cli.mjs';

const root = path.resolve(__dirname, '..');
const appDir = path.join(root, 'examples/browser');
const appRequire = createRequire(path.join(appDir, 'package.json'));
const { PNG } = appRequire('pngjs') as { PNG: { sync: { read(png: Buffer): { data: Uint8Array } } } };

type Launched = { context: import('playwright-core').BrowserContext; close(): Promise<void> };
type Preview = { close(): Promise<void>; resolvedUrls: { local: string[] } | null };
type DistillOwn = {
  classes: string[];
  images: number;
  history: { loss: number }[];
  check: { shape: [number, number, number, number]; pixels: number[]; logits: number[] };
  tensors: number;
  seconds: number;
};

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-distill-own-'));
const images = path.join(work, 'images', 'train');
const teacherDir = path.join(work, 'teacher');
let outDir: string;
let preview: Preview;
let browser: Launched;
let page: Page;
let url: string;
const pageErrors: string[] = [];

const TINY = '{"embedDim":32,"depth":1,"numHeads":2}';

beforeAll(async () => {
  assertBuilt();
  execFileSync(process.execPath, [
    path.join(root, 'examples/distill-own/make-images.mjs'),
    path.join(work, 'images'),
    '--train',
    '6',
    '--test',
    '1',
  ]);
  // the teacher: a tiny ViT trained one epoch by the built CLI (what a user exports from Node)
  const trained = await runCli([
    'train',
    '--model',
    'deit-tiny-patch4-32',
    '--model-config',
    TINY,
    '--data',
    images,
    '--epochs',
    '1',
    '--batch-size',
    '9',
    '--progress',
    'none',
    '--backend',
    'cpu',
    '--out',
    teacherDir,
  ]);
  expect(trained.code, trained.stderr).toBe(0);
  await initBackend('cpu');
  const wide = createViT('deit-tiny-patch4-32', { embedDim: 16, depth: 1, numHeads: 2, numClasses: 5, seed: 1 });
  await saveModel(wide, { dir: path.join(work, 'wide') });
  wide.dispose();

  const vite = await import(pathToFileURL(appRequire.resolve('vite')).href);
  outDir = mkdtempSync(path.join(os.tmpdir(), 'distillery-distill-own-app-'));
  await vite.build({
    configFile: path.join(appDir, 'vite.config.mjs'),
    root: appDir,
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  // a tfjs Layers teacher served beside the page, for the URL path (its model.json + weights shard)
  const layersDir = path.join(outDir, 'teachers', 'layers');
  mkdirSync(layersDir, { recursive: true });
  const lm = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape: [32, 32, 3] }), tfl.layers.dense({ units: 3 })],
  });
  await lm.save(
    tf.io.withSaveHandler(async ({ weightData, weightSpecs, ...rest }) => {
      writeFileSync(path.join(layersDir, 'weights.bin'), new Uint8Array(weightData as ArrayBuffer));
      writeFileSync(
        path.join(layersDir, 'model.json'),
        JSON.stringify({ ...rest, weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  lm.dispose();
  preview = await vite.preview({
    configFile: path.join(appDir, 'vite.config.mjs'),
    root: appDir,
    logLevel: 'error',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  url = preview.resolvedUrls?.local[0] as string;
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close();
  await preview?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** Fills the form, starts, and waits for the page to finish; returns the status. */
async function distillOnPage(options: {
  teacherFiles?: string[];
  teacherUrl?: string;
  folder: string;
  epochs?: number;
  loss?: string;
  student?: string;
  wait?: boolean;
}) {
  if (options.teacherUrl) {
    await page.selectOption('#own-teacher-source', 'url');
    await page.fill('#own-teacher-url', options.teacherUrl);
  } else {
    await page.selectOption('#own-teacher-source', 'files');
    await page.setInputFiles('#own-teacher-files', options.teacherFiles ?? []);
  }
  await page.setInputFiles('#own-images', options.folder);
  await page.selectOption('#own-student', options.student ?? 'deit-tiny-patch4-32|small');
  await page.selectOption('#own-loss', options.loss ?? 'kd');
  await page.fill('#own-epochs', String(options.epochs ?? 2));
  await page.fill('#own-batch', '8');
  const started = Date.now();
  await page.click('#own-start');
  if (options.wait === false) return null;
  await page.waitForFunction(
    () =>
      ['done', 'error', 'cancelled'].includes(
        (document.getElementById('own-status') as HTMLElement).dataset.state ?? '',
      ),
    undefined,
    { timeout: 90_000, polling: 200 },
  );
  return {
    state: await page.getAttribute('#own-status', 'data-state'),
    text: (await page.textContent('#own-status')) ?? '',
    log: (await page.textContent('#own-log')) ?? '',
    seconds: (Date.now() - started) / 1000,
  };
}

const ownState = () =>
  page.evaluate(
    () => (window as unknown as { __distilleryApp: { distillOwn: DistillOwn } }).__distilleryApp.distillOwn,
  );

describe('"Distill your own" in headless Chromium', () => {
  it('a Node-exported teacher + an image folder → 2 epochs in the worker → the downloaded student predicts as in the page', async () => {
    const result = await distillOnPage({
      teacherFiles: [path.join(teacherDir, 'model.json'), path.join(teacherDir, 'model.safetensors')],
      folder: images,
    });
    console.log(`distill own: ${result!.state} in ${result!.seconds.toFixed(1)} s (noisy: shared machine)`);
    expect(result!.state, `${result!.text}\n${result!.log}`).toBe('done');
    expect(result!.log).toContain('teacher: distillery model');
    expect(result!.log).toContain('train: 18 images, classes diagonal (6), horizontal (6), vertical (6)');
    const own = await ownState();
    expect(own.classes).toEqual(['diagonal', 'horizontal', 'vertical']);
    expect(own.history).toHaveLength(2);
    for (const h of own.history) expect(Number.isFinite(h.loss)).toBe(true);

    // the browser's decoding equals pngjs' in Node (PNG: exact), first 4 images = diagonal/000..003
    const [k, size, , channels] = own.check.shape;
    for (let i = 0; i < k; i++) {
      const png = PNG.sync.read(readFileSync(path.join(images, 'diagonal', `${String(i).padStart(3, '0')}.png`)));
      for (let p = 0; p < size * size; p++) {
        for (let c = 0; c < channels; c++) {
          const page = own.check.pixels[(i * size * size + p) * channels + c]!;
          expect(page).toBe(Math.fround(png.data[p * 4 + c]! / 255));
        }
      }
    }

    const saved = path.join(work, 'downloaded');
    mkdirSync(saved, { recursive: true });
    for (const file of ['model.json', 'model.safetensors']) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click(`#own-downloads a[data-file="${file}"]`),
      ]);
      expect(download.suggestedFilename()).toBe(file);
      await download.saveAs(path.join(saved, file));
    }
    const student = await loadModel(path.join(saved, 'model.json'));
    expect(student.classes).toEqual(own.classes);
    expect(student.metadata).toMatchObject({ imageSize: 32, channels: 3, loss: 'kd', teacher: 'distillery' });
    const x = tf.tensor4d(Float32Array.from(own.check.pixels), own.check.shape);
    const logits = student.logits(x);
    expectClose(Array.from(await logits.data()), own.check.logits, 1e-5, 1e-5, 'student logits, Node vs page');
    tf.dispose([x, logits]);
    student.model.dispose();
    expect(pageErrors).toEqual([]);
  });

  it('a tfjs Layers model.json by URL teaches too (tfjs-layers loaded on demand in the worker)', async () => {
    const result = await distillOnPage({ teacherUrl: 'teachers/layers/model.json', folder: images, epochs: 1 });
    expect(result!.state, `${result!.text}\n${result!.log}`).toBe('done');
    expect(result!.log).toContain('teacher: tfjs-layers model');
    expect((await ownState()).history).toHaveLength(1);
  });

  it('bad input is one message on the page: another class count, an empty class folder, an unreadable image', async () => {
    const wide = await distillOnPage({
      teacherFiles: [path.join(work, 'wide', 'model.json'), path.join(work, 'wide', 'model.safetensors')],
      folder: images,
    });
    expect(wide!.state).toBe('error');
    expect(wide!.text).toBe(
      'the teacher predicts 5 classes, but the image folder has 3 class folders (diagonal, horizontal, vertical): pick a teacher trained on these classes, or a folder with one sub-folder per teacher class',
    );
    const teacherFiles = [path.join(teacherDir, 'model.json'), path.join(teacherDir, 'model.safetensors')];
    const withEmpty = path.join(work, 'with-empty');
    cpSync(images, withEmpty, { recursive: true });
    mkdirSync(path.join(withEmpty, 'zigzag'));
    writeFileSync(path.join(withEmpty, 'zigzag', 'notes.txt'), 'no images yet');
    const empty = await distillOnPage({ teacherFiles, folder: withEmpty });
    expect(empty!.state).toBe('error');
    expect(empty!.text).toBe('with-empty/zigzag: empty class folder (no images; it holds notes.txt).');
    const broken = path.join(work, 'broken');
    cpSync(images, broken, { recursive: true });
    writeFileSync(path.join(broken, 'vertical', 'zz.png'), 'not a png');
    const unreadable = await distillOnPage({ teacherFiles, folder: broken });
    expect(unreadable!.state).toBe('error');
    expect(unreadable!.text).toMatch(/^broken\/vertical\/zz\.png: not a readable image \(.+\)\.$/);
    for (const r of [wide, empty, unreadable]) expect(r!.text).not.toContain('\n');
  });

  it('Cancel stops a run in progress', async () => {
    await distillOnPage({
      teacherFiles: [path.join(teacherDir, 'model.json'), path.join(teacherDir, 'model.safetensors')],
      folder: images,
      epochs: 50,
      wait: false,
    });
    await page.waitForFunction(
      () => /epoch \d+\/50/.test(document.getElementById('own-status')?.textContent ?? ''),
      undefined,
      {
        timeout: 60_000,
      },
    );
    await page.click('#own-cancel');
    await page.waitForFunction(() => document.getElementById('own-status')?.dataset.state === 'cancelled', undefined, {
      timeout: 10_000,
    });
    expect(await page.textContent('#own-status')).toMatch(/^Cancelled after \d/);
    expect(pageErrors).toEqual([]);
  });
});
