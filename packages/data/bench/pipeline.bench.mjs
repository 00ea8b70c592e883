// Augmentation throughput of @distillery/data (built package) at batch 128, 32×32×3, on wasm and cpu, beside the
// same operations in PyTorch on one thread (tools/bench/train.py), in one run. Columns: ms per batch (median of 5
// after 2 warm-ups, including the read-back of the result), images/s, and the ratio to PyTorch.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  autoAugmentCifar10,
  colorJitter,
  cutout,
  mixupCutmix,
  randAugment,
  randomCrop,
  randomHorizontalFlip,
  randomRotation,
  weakStrongViews,
} from '@distillery/data';
import { createRng, initBackend, randomUniform, tf } from '@distillery/tensor';
import { fmt, ratio, runPython, table, timeMs } from '../../../scripts/bench-utils.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const backends = (process.env.DISTILLERY_BENCH_BACKENDS ?? 'wasm,cpu').split(',');
const B = 128;
const S = 32;

async function benchBackend(backend) {
  await initBackend(backend);
  const rng = createRng(0);
  const x = randomUniform([B, S, S, 3], rng);
  const y = tf.tensor1d(
    Array.from({ length: B }, () => rng.int(10)),
    'int32',
  );
  const cases = {
    'randomCrop (pad 4)': () => randomCrop(x, rng),
    randomHorizontalFlip: () => randomHorizontalFlip(x, rng),
    'randomRotation (15°)': () => randomRotation(x, rng),
    colorJitter: () => colorJitter(x, rng),
    'cutout (16)': () => cutout(x, rng),
    mixupCutmix: () => {
      const r = mixupCutmix(x, y, 10, rng);
      r.targets.dispose();
      return r.images;
    },
    'weak view (crop+flip+rotation)': () =>
      tf.tidy(() => randomRotation(randomHorizontalFlip(randomCrop(x, rng), rng), rng)),
    'randAugment (n 2, m 9)': () => randAugment(x, rng),
    autoAugmentCifar10: () => autoAugmentCifar10(x, rng),
    'weakStrongViews (MDCS)': () => {
      const v = weakStrongViews(x, rng);
      v.weak.dispose();
      return v.strong;
    },
  };
  const out = {};
  for (const [name, fn] of Object.entries(cases)) {
    out[name] = await timeMs(async () => {
      const t = fn();
      await t.data();
      t.dispose();
    });
  }
  tf.dispose([x, y]);
  return out;
}

const results = {};
for (const backend of backends) results[backend] = await benchBackend(backend);
const torch = runPython(path.join(here, '../../../tools/bench/train.py'));

const rows = [];
for (const name of Object.keys(results[backends[0]])) {
  for (const backend of backends) {
    const ms = results[backend][name];
    rows.push([
      name,
      backend,
      fmt(ms),
      Math.round((B * 1000) / ms).toLocaleString('en'),
      fmt(torch[name]),
      ratio(ms, torch[name]),
    ]);
  }
}
console.log(`augmentation, batch ${B}, ${S}×${S}×3 float32\n`);
console.log(table(['op', 'backend', 'ms / batch (tfjs)', 'images/s (tfjs)', 'ms (PyTorch 1 thread)', 'ratio'], rows));
if (torch.error) console.log(`\nPyTorch reference unavailable: ${torch.error}`);
else console.log(`\nPyTorch ${torch.version}, torch.set_num_threads(1), plain torch ops (no torchvision)`);
