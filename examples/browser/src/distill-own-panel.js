// "Distill your own", the page's side: a teacher (a Distillery model.json + its safetensors picked as files, or a
// model.json URL: Distillery, tfjs Layers or tfjs graph model), a folder of images (<input webkitdirectory>, one
// sub-folder per class) decoded by the browser itself (createImageBitmap, then an OffscreenCanvas's getImageData), a
// ViT student preset and a loss. Training runs in the training worker (train-worker.js → distill-own-worker.js); the
// student comes back as model.json + model.safetensors links, what loadModel of @distillery/vit/load reads.
import { DISTILL_LOSSES } from '@distillery/train';
import { VIT_PRESETS } from '@distillery/vit';

const IMAGE_FILE = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;
/** The students on offer: each ViT preset as it is, or made small (2 blocks of width 32) for a quick try. */
const SMALL = { embedDim: 32, depth: 2, numHeads: 2 };

/** A message for the page (one line), not a bug: shown as it is, without a stack. */
class InputError extends Error {}

/**
 * The folder's classes and images: class c is the c-th sub-folder in sorted order, images sorted by path (as the
 * image-folder loader of @distillery/data orders them in Node). Hidden files (.DS_Store) are skipped.
 */
export function classFolders(files) {
  const list = [...files].filter((f) => !f.webkitRelativePath.split('/').some((p) => p.startsWith('.')));
  if (list.length === 0)
    throw new InputError('The folder is empty: pick a folder with one sub-folder of images per class.');
  const root = list[0].webkitRelativePath.split('/')[0];
  const byClass = new Map();
  for (const file of list) {
    const parts = file.webkitRelativePath.split('/');
    if (parts.length < 3) {
      if (IMAGE_FILE.test(file.name)) {
        throw new InputError(
          `${file.webkitRelativePath}: images must sit in one sub-folder per class (${root}/<class>/<image>).`,
        );
      }
      continue;
    }
    if (!byClass.has(parts[1])) byClass.set(parts[1], { images: [], others: [] });
    byClass.get(parts[1])[IMAGE_FILE.test(file.name) ? 'images' : 'others'].push(file);
  }
  const classes = [...byClass.keys()].sort();
  if (classes.length < 2) {
    throw new InputError(`${root}: expected one sub-folder per class (at least 2), found ${classes.length}.`);
  }
  for (const name of classes) {
    const { images, others } = byClass.get(name);
    if (images.length === 0) {
      throw new InputError(
        `${root}/${name}: empty class folder (no images${others.length ? `; it holds ${others.map((f) => f.name).join(', ')}` : ''}).`,
      );
    }
    images.sort((a, b) => (a.webkitRelativePath < b.webkitRelativePath ? -1 : 1));
  }
  return { root, classes, images: classes.map((name) => byClass.get(name).images) };
}

/** The image's pixels in [0, 1], resized to size×size by nearest neighbour (as `distillery predict` does). */
async function decode(file, size, channels, into, offset) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (error) {
    throw new InputError(`${file.webkitRelativePath}: not a readable image (${error?.message ?? error}).`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const { data, width, height } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  for (let y = 0; y < size; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / size));
    for (let x = 0; x < size; x++) {
      const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / size));
      const i = (sy * width + sx) * 4;
      const o = offset + (y * size + x) * channels;
      if (channels === 1) into[o] = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]) / 255;
      else for (let c = 0; c < 3; c++) into[o + c] = data[i + c] / 255;
    }
  }
}

/** The teacher's files: one model.json and the safetensors it names, or a URL. */
async function teacherJob(source, files, url) {
  if (source === 'url') {
    if (!url)
      throw new InputError('Teacher: enter the URL of a model.json (Distillery, tfjs Layers or tfjs graph model).');
    try {
      return { kind: 'url', url: new URL(url, document.baseURI).href };
    } catch {
      throw new InputError(`Teacher: "${url}" is not a URL.`);
    }
  }
  const picked = [...(files ?? [])];
  const jsons = picked.filter((f) => /\.json$/i.test(f.name));
  if (jsons.length !== 1) {
    throw new InputError(
      `Teacher: pick one model.json and its .safetensors together (picked: ${picked.map((f) => f.name).join(', ') || 'nothing'}).`,
    );
  }
  const json = await jsons[0].text();
  let weightsName = 'model.safetensors';
  try {
    weightsName = JSON.parse(json).weights ?? weightsName;
  } catch {
    throw new InputError(`Teacher: ${jsons[0].name} is not JSON.`);
  }
  const weights = picked.find((f) => f.name === weightsName);
  if (!weights)
    throw new InputError(`Teacher: ${jsons[0].name} names ${weightsName}: pick it together with ${jsons[0].name}.`);
  return { kind: 'files', json, weights: await weights.arrayBuffer() };
}

export function setupDistillOwnPanel({ app, wasmPaths }) {
  const $ = (id) => document.getElementById(id);
  const status = $('own-status');
  const log = $('own-log');
  const progress = $('own-progress');
  const start = $('own-start');
  const cancel = $('own-cancel');
  for (const name of Object.keys(VIT_PRESETS)) {
    const { imageSize } = VIT_PRESETS[name];
    $('own-student').append(new Option(`${name} (${imageSize}×${imageSize}), 2 blocks × 32: quick`, `${name}|small`));
    $('own-student').append(new Option(`${name} (${imageSize}×${imageSize}), as in the paper`, `${name}|full`));
  }
  $('own-student').value = 'deit-tiny-patch4-32|small';
  for (const loss of DISTILL_LOSSES) $('own-loss').append(new Option(loss, loss));
  $('own-loss').value = 'kd';
  const showSource = () => {
    const url = $('own-teacher-source').value === 'url';
    $('own-teacher-files-row').hidden = url;
    $('own-teacher-url-row').hidden = !url;
  };
  $('own-teacher-source').addEventListener('change', showSource);
  showSource();

  const setStatus = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  const line = (text) => {
    log.textContent += `${text}\n`;
    log.scrollTop = log.scrollHeight;
  };
  let worker = null;
  let cancelRun = null;
  let urls = [];

  async function run() {
    const started = performance.now();
    const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
    log.textContent = '';
    setStatus('running', 'Starting…');
    $('own-downloads').replaceChildren();
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
    progress.value = 0;
    start.disabled = true;
    try {
      const [preset, variant] = $('own-student').value.split('|');
      const size = VIT_PRESETS[preset].imageSize;
      const channels = 3;
      const loss = $('own-loss').value;
      const epochs = Number.parseInt($('own-epochs').value, 10);
      const batchSize = Number.parseInt($('own-batch').value, 10);
      if (!(epochs >= 1)) throw new InputError(`Epochs: expected an integer ≥ 1, got "${$('own-epochs').value}".`);
      if (!(batchSize >= 1))
        throw new InputError(`Batch size: expected an integer ≥ 1, got "${$('own-batch').value}".`);
      const teacher =
        loss === 'uskd'
          ? null
          : await teacherJob(
              $('own-teacher-source').value,
              $('own-teacher-files').files,
              $('own-teacher-url').value.trim(),
            );
      const folder = classFolders($('own-images').files ?? []);
      const count = folder.images.reduce((n, list) => n + list.length, 0);
      setStatus('running', `Decoding ${count} images of ${folder.classes.length} classes…`);
      const per = size * size * channels;
      const pixels = new Float32Array(count * per);
      const labels = new Int32Array(count);
      let i = 0;
      for (let c = 0; c < folder.classes.length; c++) {
        for (const file of folder.images[c]) {
          await decode(file, size, channels, pixels, i * per);
          labels[i++] = c;
        }
      }
      line(
        `${folder.root}: ${count} images, classes ${folder.classes.map((name, c) => `${name} (${folder.images[c].length})`).join(', ')}`,
      );
      setStatus('running', `Training ${preset} (${loss}) in the worker…`);
      cancel.disabled = false;
      const result = await new Promise((resolve, reject) => {
        worker = new Worker(new URL('./train-worker.js', import.meta.url), {
          type: 'module',
          name: 'distillery-distill',
        });
        cancelRun = () => {
          worker?.terminate();
          worker = null;
          reject(Object.assign(new Error('cancelled'), { cancelled: true }));
        };
        worker.addEventListener('message', ({ data }) => {
          if (data.type === 'backend')
            line(`backend: ${data.backend}${data.backend === 'wasm' ? `, ${data.threads} thread(s)` : ''}`);
          else if (data.type === 'line') line(data.text);
          else if (data.type === 'progress') {
            progress.value = (data.epoch * data.batches + data.batch) / (data.epochs * data.batches);
            setStatus(
              'running',
              `Training ${preset} (${loss}): epoch ${data.epoch + 1}/${data.epochs}, batch ${data.batch}/${data.batches} (${seconds()} s)`,
            );
          } else if (data.type === 'epoch') line(`epoch ${data.record.epoch + 1}: loss ${data.record.loss.toFixed(4)}`);
          else if (data.type === 'distilled') resolve(data);
          else if (data.type === 'error') reject(new Error(data.message));
        });
        worker.addEventListener('error', (event) => reject(new Error(event.message || 'the training worker failed')));
        const job = {
          kind: 'distill',
          backend: $('own-backend').value,
          wasmPaths,
          seed: 0,
          teacher,
          pixels,
          labels,
          size,
          channels,
          classes: folder.classes,
          student: { preset, config: variant === 'small' ? SMALL : {} },
          loss,
          epochs,
          batchSize,
        };
        worker.postMessage(job, [
          pixels.buffer,
          labels.buffer,
          ...(teacher?.kind === 'files' ? [teacher.weights] : []),
        ]);
      }).finally(() => {
        worker?.terminate();
        worker = null;
        cancelRun = null;
      });
      const files = [
        ['model.json', new Blob([result.json], { type: 'application/json' })],
        ['model.safetensors', new Blob([result.weights], { type: 'application/octet-stream' })],
      ];
      for (const [name, blob] of files) {
        const url = URL.createObjectURL(blob);
        urls.push(url);
        const a = Object.assign(document.createElement('a'), { href: url, download: name });
        a.textContent = `⬇ ${name} (${(blob.size / 1024).toFixed(0)} KiB)`;
        a.dataset.file = name;
        $('own-downloads').append(a);
      }
      progress.value = 1;
      app.distillOwn = {
        classes: folder.classes,
        images: count,
        history: result.history,
        check: {
          shape: result.check.shape,
          pixels: Array.from(result.check.pixels),
          logits: Array.from(result.check.logits),
        },
        tensors: result.tensors,
        seconds: Number(seconds()),
      };
      setStatus('done', `Done in ${seconds()} s: download the student (model.json + model.safetensors) below.`);
    } catch (error) {
      if (error?.cancelled) setStatus('cancelled', `Cancelled after ${seconds()} s.`);
      else setStatus('error', error?.message ?? String(error));
    } finally {
      start.disabled = false;
      cancel.disabled = true;
    }
  }

  $('own-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  cancel.addEventListener('click', () => cancelRun?.());
}
