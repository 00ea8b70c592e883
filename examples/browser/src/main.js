// Distillery in the browser: choose a backend and a recipe, train it live, inspect soft labels and an OT plan, and
// download the trained weights as .safetensors.
import './style.css';
import { initBackend } from '@distillery/tensor';
import { drawBars, drawCurves, drawDigit, drawHeatmap, drawReportCurves } from './charts.js';
import { createSoftLabelDemo, transportPlanDemo } from './demos.js';
import { setupDistillOwnPanel } from './distill-own-panel.js';
import { setupIdxPanel } from './idx-panel.js';
import { NOT_ISOLATED } from './not-isolated.js';
import { recipes } from './recipes.js';

/** tfjs-backend-wasm's binaries, copied next to the page by the build (vite.config.mjs). */
const wasmPaths = new URL('wasm/', document.baseURI).href;

const $ = (id) => document.getElementById(id);
const backendSelect = $('backend');
const recipeSelect = $('recipe');
const modeSelect = $('mode');
const seedInput = $('seed');
const startButton = $('start');
const cancelButton = $('cancel');
const status = $('status');
const logBox = $('log');
const chart = $('chart');

/** What the page has done, for people poking at the console and for tests. */
const app = { runs: [], demos: {} };
window.__distilleryApp = app;

const yieldToBrowser = () => new Promise((resolve) => setTimeout(resolve, 16));

function logLine(line) {
  logBox.textContent += `${line}\n`;
  logBox.scrollTop = logBox.scrollHeight;
}

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

for (const r of recipes) recipeSelect.append(new Option(r.title, r.name));
const selectedRecipe = () => recipes.find((r) => r.name === recipeSelect.value) ?? recipes[0];
const webgpuOption = backendSelect.querySelector('option[value="webgpu"]');
const webgpuInBrowser = 'gpu' in navigator;
if (!webgpuInBrowser) {
  webgpuOption.disabled = true;
  webgpuOption.textContent = 'WebGPU (not available in this browser)';
}

/** Why `recipe` cannot train on WebGPU here (it reads tensors synchronously), or null when it can. */
const webgpuRefusal = (recipe) =>
  recipe.webgpuUnsupported
    ? `${recipe.name} reads tensors synchronously (${recipe.webgpuUnsupported}): use wasm`
    : null;

const showSummary = () => {
  const r = selectedRecipe();
  $('recipe-summary').textContent = `${r.summary}. Paper: ${r.paper}.`;
  const refusal = webgpuRefusal(r);
  if (webgpuInBrowser) webgpuOption.textContent = refusal ? 'WebGPU (not for this recipe)' : 'WebGPU';
  $('webgpu-note').textContent = refusal ? `WebGPU note: ${refusal}.` : '';
};
recipeSelect.addEventListener('change', showSummary);
showSummary();

/**
 * Refuses WebGPU, with the reason, where the browser has no WebGPU adapter. Training on WebGPU reads tensors only
 * asynchronously (`await tensor.data()`), so it works where tfjs' synchronous read does not (headless or
 * software-composited Chromium, whose WebGPU canvas cannot be copied into a 2D canvas).
 */
async function assertWebGPUAvailable() {
  let reason;
  if (!('gpu' in navigator)) reason = 'navigator.gpu is missing (this browser has no WebGPU, or it is disabled)';
  else if (!(await navigator.gpu.requestAdapter().catch(() => null))) reason = 'navigator.gpu found no adapter';
  if (reason) {
    status.dataset.reason = 'webgpu-unavailable';
    $('webgpu-note').textContent = `WebGPU note: ${reason}. Use wasm here.`;
    throw new Error(`WebGPU is not available here: ${reason}`);
  }
}

/** The latest drawing of each canvas, replayed when the canvas is resized or its 2D context is restored. */
const drawings = new Map();
function draw(canvas, paint) {
  if (!drawings.has(canvas)) canvas.addEventListener('contextrestored', () => drawings.get(canvas)());
  drawings.set(canvas, paint);
  paint();
}
let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const paint of drawings.values()) paint();
  }, 100);
});

let downloadUrls = [];
function showDownloads(recipe, weights) {
  for (const url of downloadUrls) URL.revokeObjectURL(url);
  downloadUrls = [];
  const box = $('downloads');
  box.replaceChildren();
  for (const [name, bytes] of Object.entries(weights ?? {})) {
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    downloadUrls.push(url);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.safetensors`;
    a.textContent = `⬇ ${name}.safetensors (${(bytes.byteLength / 1024).toFixed(0)} KiB)`;
    a.dataset.weights = name;
    box.append(a);
  }
  if (box.childElementCount === 0) box.textContent = `${recipe.name} returned no weights.`;
}

function showTable(table) {
  const box = $('results');
  box.replaceChildren();
  if (!table) return;
  const el = document.createElement('table');
  const head = el.createTHead().insertRow();
  for (const h of table.headers) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = el.createTBody();
  for (const row of table.rows) {
    const tr = body.insertRow();
    for (const v of row) tr.insertCell().textContent = typeof v === 'number' ? v.toFixed(3) : String(v);
  }
  box.append(el);
}

/** The worker of the run in progress (null: none, or a WebGPU run on the main thread). */
let worker = null;
/** Ends the run in progress: set by train(). */
let cancelRun = null;

/**
 * Runs `recipe` in a module worker (train-worker.js) and resolves with its result; `on.backend`, `on.line` and
 * `on.epoch` receive its messages as they come. Rejects on an error in the worker, or when cancelled (the worker is
 * terminated at once, whatever it was doing).
 */
function trainInWorker(recipe, choice, seed, smoke, on) {
  return new Promise((resolve, reject) => {
    worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module', name: 'distillery-train' });
    cancelRun = () => {
      worker?.terminate();
      worker = null;
      reject(Object.assign(new Error('cancelled'), { cancelled: true }));
    };
    worker.addEventListener('message', ({ data }) => {
      if (data.type === 'backend') on.backend(data);
      else if (data.type === 'line') on.line(data.text);
      else if (data.type === 'epoch') on.epoch(data.run, data.record);
      else if (data.type === 'done') resolve(data);
      else if (data.type === 'error') reject(Object.assign(new Error(data.message), { stack: data.stack }));
    });
    worker.addEventListener('error', (event) => reject(new Error(event.message || 'the training worker failed')));
    worker.postMessage({ recipe: recipe.name, backend: choice, seed, smoke, wasmPaths });
  }).finally(() => {
    worker?.terminate();
    worker = null;
    cancelRun = null;
  });
}

/** "wasm, N threads", or "1 thread: <reason>", for the status line and the page's state. */
function threadsText(info) {
  if (info.backend !== 'wasm') return info.backend;
  if (info.reason) return `${info.backend}, 1 thread: ${info.reason}`;
  return `${info.backend}, ${info.threads} thread${info.threads === 1 ? '' : 's'}`;
}

const controls = () => [startButton, backendSelect, recipeSelect, modeSelect, seedInput];

async function train() {
  const recipe = selectedRecipe();
  const choice = backendSelect.value;
  const smoke = modeSelect.value === 'smoke';
  const seed = Number.parseInt(seedInput.value, 10) || 0;
  const refusal = choice === 'webgpu' ? webgpuRefusal(recipe) : null;
  if (refusal) {
    // Refused before anything starts: a synchronous read would otherwise fail the run midway.
    status.dataset.reason = 'webgpu-sync-reads';
    $('webgpu-note').textContent = `WebGPU note: ${refusal}.`;
    logBox.textContent = '';
    logLine(`not started: ${refusal}`);
    setStatus('error', `Not started on WebGPU: ${refusal}.`);
    return;
  }
  for (const el of controls()) el.disabled = true;
  cancelButton.disabled = false;
  const runs = new Map();
  draw(chart, () => drawCurves(chart, runs));
  showTable(null);
  $('downloads').replaceChildren();
  logBox.textContent = '';
  setStatus('running', `Starting ${choice}…`);
  await yieldToBrowser();
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  delete status.dataset.reason;
  delete $('threads').dataset.threads;
  let engine = choice;
  const on = {
    backend(info) {
      engine = threadsText(info);
      status.dataset.backend = info.backend;
      status.dataset.threads = String(info.threads ?? '');
      $('threads').textContent =
        info.backend === 'wasm' ? `Engine: ${engine}` : `Engine: ${info.backend} (in the worker)`;
      $('threads').dataset.threads = String(info.threads ?? '');
      $('threads').dataset.isolated = String(info.isolated ?? globalThis.crossOriginIsolated === true);
      logLine(`backend: ${engine}; recipe: ${recipe.name} (${smoke ? 'smoke' : 'small: 5 epochs'}), seed ${seed}`);
      setStatus('running', `Training ${recipe.name} on ${engine}…`);
    },
    line: logLine,
    epoch(run, record) {
      if (!runs.has(run)) runs.set(run, []);
      runs.get(run).push(record);
      draw(chart, () => drawCurves(chart, runs));
      logLine(`${run}: epoch ${record.epoch + 1}, loss ${record.loss.toFixed(4)} (${record.seconds?.toFixed(1)} s)`);
      setStatus('running', `Training ${recipe.name} on ${engine}: ${run}, epoch ${record.epoch + 1} (${seconds()} s)`);
    },
  };
  try {
    // Every backend trains in the worker: wasm on the thread pool where the page is cross-origin isolated, WebGPU
    // through the worker's navigator.gpu (Chromium exposes WebGPU to dedicated workers; the adapter is checked here
    // first, so a missing one is said on the page), cpu on one thread.
    if (choice === 'webgpu') await assertWebGPUAvailable();
    const result = await trainInWorker(recipe, choice, seed, smoke, on);
    if (runs.size === 0 && result.report?.curves) {
      // A recipe that does not pass ctx.onEpochEnd to fit: draw the curves of its report instead.
      draw(chart, () => drawReportCurves(chart, result.report.curves));
      logLine(`(${recipe.name} reports no epochs live: the curves are those of its report)`);
    }
    showTable(result.report?.table);
    showDownloads(recipe, result.weights);
    const summary = {
      recipe: recipe.name,
      backend: status.dataset.backend,
      threads: Number(status.dataset.threads) || null,
      engine,
      seconds: Number(seconds()),
      epochs: Object.fromEntries([...runs].map(([name, records]) => [name, records.length])),
      weights: Object.fromEntries(Object.entries(result.weights ?? {}).map(([k, v]) => [k, v.byteLength])),
      tensors: result.tensors,
    };
    app.runs.push(summary);
    status.dataset.runs = String(app.runs.length);
    const ready = Object.keys(summary.weights).length > 0 ? ' Weights ready below.' : '';
    setStatus('done', `Done: ${recipe.name} on ${engine} in ${summary.seconds} s.${ready}`);
  } catch (error) {
    if (error?.cancelled) {
      logLine(`cancelled after ${seconds()} s`);
      setStatus('cancelled', `Cancelled ${recipe.name} after ${seconds()} s.`);
    } else {
      console.error(error);
      logLine(`error: ${error?.stack ?? error}`);
      setStatus('error', `Failed on ${choice}: ${error?.message ?? error}`);
    }
  } finally {
    for (const el of controls()) el.disabled = false;
    cancelButton.disabled = true;
  }
}

$('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  train();
});
cancelButton.addEventListener('click', () => cancelRun?.());
$('threads').textContent = globalThis.crossOriginIsolated
  ? `Engine: wasm trains in a worker on ${navigator.hardwareConcurrency || 1} threads (the page is cross-origin isolated).`
  : `Engine: wasm trains in a worker on 1 thread: ${NOT_ISOLATED}.`;
setupIdxPanel();
setupDistillOwnPanel({ app, wasmPaths });

async function showDemos() {
  draw(chart, () => drawCurves(chart, new Map()));
  try {
    // The demos are small: on the main thread, wasm stays on one thread (its pool would have to poll here).
    const demoBackend = backendSelect.value;
    await initBackend(demoBackend, demoBackend === 'wasm' ? { wasmPaths, threads: 1 } : { wasmPaths }).catch(() =>
      initBackend('cpu'),
    );
    const softLabels = createSoftLabelDemo(0);
    const showDigit = () => {
      const s = softLabels.next();
      draw($('digit'), () => drawDigit($('digit'), s.pixels, 8));
      draw($('soft-labels'), () =>
        drawBars(
          $('soft-labels'),
          ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
          [
            { name: 'student softmax p', color: '#3056d3', values: s.probabilities },
            { name: 'Zipf non-target labels', color: '#e8590c', values: s.zipf },
          ],
          s.label,
        ),
      );
      const top = [...s.probabilities.keys()].sort((a, b) => s.probabilities[b] - s.probabilities[a]);
      $('digit-caption').textContent =
        `digit #${s.index}, label ${s.label} (★); student predicts ${top[0]} (p = ${s.probabilities[top[0]].toFixed(2)})`;
      app.demos.softLabels = {
        label: s.label,
        zipfSum: s.zipf.reduce((a, b) => a + b, 0),
        zipfAtLabel: s.zipf[s.label],
      };
    };
    showDigit();
    $('next-digit').disabled = false;
    $('next-digit').addEventListener('click', showDigit);

    const ot = transportPlanDemo(0);
    draw($('ot'), () => drawHeatmap($('ot'), ot.matrix, ot.rowLabels, ot.separators));
    $('ot-caption').textContent =
      `Sinkhorn, reg 0.05: ${ot.iterations} iterations, marginal error ${ot.marginalError.toExponential(1)}; ` +
      `${ot.correct} of ${ot.total} points sent mostly to their own cluster.`;
    app.demos.ot = { iterations: ot.iterations, marginalError: ot.marginalError, correct: ot.correct };
  } catch (error) {
    console.error(error);
    logLine(`demo error: ${error?.stack ?? error}`);
  }
  app.ready = true;
  document.body.dataset.ready = 'true';
}

showDemos();
