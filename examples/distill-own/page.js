// The student of `distillery distill`, loaded by URL (model.json, then the safetensors it names) with
// `@distillery/vit/load`, classifies an image picked in a file input. The image is decoded by the browser
// (createImageBitmap, then a canvas's getImageData) and resized to the model's size by nearest neighbour, as
// `distillery predict` does. serve.mjs bundles this file for the browser.
import { initBackend, tf } from '@distillery/tensor';
import { loadModel } from '@distillery/vit/load';

const status = document.getElementById('status');
const input = document.getElementById('image');
const result = document.getElementById('result');

await initBackend('cpu');
const model = await loadModel(new URL('model/model.json', location.href).href);
const size = Number(model.metadata?.imageSize ?? model.config.imageSize);
const channels = Number(model.metadata?.channels ?? model.config.inChannels ?? 3);
const classes = model.classes ?? Array.from({ length: model.config.numClasses }, (_, i) => String(i));
status.textContent = `${model.architecture}, ${size}×${size}, classes: ${classes.join(', ')}`;
input.disabled = false;
window.__ready = true;

/** The image's pixels as the model sees them: [1, size, size, channels] in [0, 1]. */
async function pixels(file) {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const { data, width, height } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  const px = new Float32Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / size));
    for (let x = 0; x < size; x++) {
      const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / size));
      const i = (sy * width + sx) * 4;
      if (channels === 1) {
        // ITU-R BT.601 luma, as the Node image decoder converts colour images to grey
        px[y * size + x] = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]) / 255;
      } else {
        for (let c = 0; c < 3; c++) px[(y * size + x) * 3 + c] = data[i + c] / 255;
      }
    }
  }
  return tf.tensor4d(px, [1, size, size, channels]);
}

input.addEventListener('change', async () => {
  const file = input.files?.[0];
  if (!file) return;
  try {
    const x = await pixels(file);
    const probs = tf.tidy(() => tf.softmax(model.logits(x)));
    const p = Array.from(await probs.data());
    tf.dispose([x, probs]);
    const top = p
      .map((q, i) => ({ className: classes[i], probability: q }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, 5);
    result.textContent = `${file.name}: ${top.map((t) => `${t.className} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`;
    window.__result = { file: file.name, top };
  } catch (error) {
    result.textContent = `${file.name}: ${error.message}`;
    window.__result = { file: file.name, error: error.message };
  }
});
