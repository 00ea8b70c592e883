// The IDX panel: the user picks MNIST-format files (the four Fashion-MNIST files, or any images + labels pair) with a
// file input; `loadIdx` of @distillery/data reads each pair from the File objects (gzip through DecompressionStream)
// in the page, and the panel shows the count per class and the first image of each class. Nothing is downloaded.
import { FASHION_MNIST_CLASSES, loadIdx } from '@distillery/data';

const $ = (id) => document.getElementById(id);

/** The pair key of an IDX file name: 'train-images-idx3-ubyte.gz' and 'train-labels-idx1-ubyte.gz' share one. */
const pairKey = (name) =>
  name
    .replace(/images|labels/i, '*')
    .replace(/idx[13]/i, 'idx*')
    .replace(/\.gz$/i, '');

/** Groups the picked files into images + labels pairs; throws with one line when a file has no partner. */
export function pairIdxFiles(files) {
  const pairs = new Map();
  for (const file of files) {
    const kind = /images/i.test(file.name) ? 'images' : /labels/i.test(file.name) ? 'labels' : null;
    if (!kind)
      throw new Error(`${file.name}: not an IDX images or labels file name (expected 'images' or 'labels' in it)`);
    const key = pairKey(file.name);
    if (!pairs.has(key)) pairs.set(key, {});
    const pair = pairs.get(key);
    if (pair[kind]) throw new Error(`${file.name}: a second ${kind} file for ${pair[kind].name}`);
    pair[kind] = file;
  }
  for (const pair of pairs.values()) {
    const [one] = Object.values(pair);
    if (!pair.images) throw new Error(`${one.name}: its images file was not picked`);
    if (!pair.labels) throw new Error(`${one.name}: its labels file was not picked`);
  }
  return [...pairs.values()];
}

/** Draws the first image of each class (grey levels 0–255, white background) side by side, with its class index. */
function drawSamples(canvas, ds) {
  const [h, w, c] = ds.imageShape;
  const labels = ds.labels();
  const classes = ds.classNames.length;
  const firsts = [];
  for (let k = 0; k < classes; k++) firsts.push(labels.indexOf(k));
  const scale = 2;
  canvas.width = classes * (w * scale + 8);
  canvas.height = h * scale + 18;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  const image = g.createImageData(w, h);
  for (const [k, index] of firsts.entries()) {
    if (index < 0) continue;
    const pixels = ds.rawImage(index);
    for (let p = 0; p < w * h; p++) {
      const v = 255 - pixels[p * c];
      image.data.set([v, v, v, 255], 4 * p);
    }
    const tile = new OffscreenCanvas(w, h);
    tile.getContext('2d').putImageData(image, 0, 0);
    g.imageSmoothingEnabled = false;
    g.drawImage(tile, k * (w * scale + 8), 0, w * scale, h * scale);
    g.fillStyle = '#333';
    g.font = '11px sans-serif';
    g.fillText(String(k), k * (w * scale + 8) + 2, h * scale + 13);
  }
}

export function setupIdxPanel() {
  const input = $('idx-files');
  const box = $('idx-result');
  const state = $('idx-status');
  input.addEventListener('change', async () => {
    box.replaceChildren();
    state.dataset.state = 'reading';
    state.textContent = `Reading ${input.files.length} file(s)…`;
    const results = [];
    try {
      const pairs = pairIdxFiles([...input.files]);
      const classNames = $('idx-fashion').checked ? FASHION_MNIST_CLASSES : undefined;
      for (const pair of pairs) {
        const started = performance.now();
        const ds = await loadIdx({ images: pair.images, labels: pair.labels, classNames });
        const ms = performance.now() - started;
        const counts = ds.classCounts();
        results.push({ images: pair.images.name, labels: pair.labels.name, length: ds.length, counts, ms });
        const section = document.createElement('div');
        section.className = 'idx-pair';
        section.dataset.images = pair.images.name;
        const title = document.createElement('p');
        title.textContent =
          `${pair.images.name} + ${pair.labels.name}: ${ds.length} images of ` +
          `${ds.imageShape.join('×')}, read in ${(ms / 1000).toFixed(1)} s`;
        const table = document.createElement('table');
        const head = table.createTHead().insertRow();
        const row = table.createTBody().insertRow();
        for (const [k, n] of counts.entries()) {
          head.append(Object.assign(document.createElement('th'), { textContent: `${k} ${ds.classNames[k]}` }));
          row.insertCell().textContent = String(n);
        }
        const canvas = document.createElement('canvas');
        canvas.setAttribute('aria-label', 'the first image of each class');
        drawSamples(canvas, ds);
        section.append(title, table, canvas);
        box.append(section);
      }
      state.dataset.state = 'done';
      state.textContent = `Read ${results.length} pair(s).`;
    } catch (error) {
      console.warn(error);
      state.dataset.state = 'error';
      // The loader's one-line error (it names the file and what is wrong).
      state.textContent = `${error?.message ?? error}`;
    }
    window.__distilleryApp.idx = results;
  });
}
