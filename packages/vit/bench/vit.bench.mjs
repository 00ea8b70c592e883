// DeiT-Tiny at 32 px (patch 4, dim 192, depth 12, 3 heads), batch 32: a training step (forward + cross-entropy +
// backward + AdamW step) and inference images/s on wasm and cpu, beside the same model in PyTorch (one thread,
// tools/bench/vit.py). Runs over the built package: `pnpm --filter @distillery/vit build` first.
//
//   node packages/vit/bench/vit.bench.mjs [--steps 3] [--cpu-steps 1] [--backends wasm,cpu] [--profile] [--no-torch]
//
// `--small-ab N` instead times the small ViT (D64, depth 4, 4 heads, 28×28×1, patch 4, B64, @distillery/train's
// AdamW) on wasm with Distillery's fused kernels off (A: composed LayerNorm, GELU and AdamW ops) and on (B),
// alternating A and B for N rounds in the same process (so machine load hits both alike); needs train built too.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, registerKernels, tf } from '@distillery/tensor';
import { createViT } from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const steps = arg('--steps', 3);
const cpuSteps = arg('--cpu-steps', 1);
const profile = args.includes('--profile');
const B = 32;

/** Minimal AdamW (decoupled weight decay, as torch.optim.AdamW): p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + eps). */
class AdamW {
  constructor(vars, { lr = 5e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.05 } = {}) {
    Object.assign(this, { vars, lr, beta1, beta2, eps, weightDecay, t: 0 });
    this.m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
    this.v = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  }
  step(grads) {
    this.t++;
    const { lr, beta1, beta2, eps, weightDecay, t } = this;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = grads[p.name];
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        p.assign(tf.sub(tf.mul(p, 1 - lr * weightDecay), tf.mul(update, lr)));
      });
    });
  }
  dispose() {
    tf.dispose([...this.m, ...this.v]);
  }
}

async function run(backend, nSteps) {
  await initBackend(backend);
  const model = createViT('deit-tiny-patch4-32', { numClasses: 10, seed: 0 });
  const vars = model.trainableVariables();
  const optimizer = new AdamW(vars);
  const x = tf.randomNormal([B, 32, 32, 3]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: B }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const lossFn = () =>
    tf.tidy(() => {
      const { logits } = model.forward(x, { training: true });
      return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1)));
    });
  const step = () => {
    const { value, grads } = tf.variableGrads(lossFn, vars);
    optimizer.step(grads);
    const loss = value.dataSync()[0];
    tf.dispose([value, grads]);
    return loss;
  };
  const log = (msg) => console.error(`[vit bench ${backend}] ${msg}`);
  let t = performance.now();
  step(); // warm-up (kernel compilation, allocations)
  log(`warm-up step ${(performance.now() - t).toFixed(0)} ms`);
  const t0 = performance.now();
  for (let i = 0; i < nSteps; i++) {
    t = performance.now();
    const loss = step();
    log(`step ${i + 1}/${nSteps}: ${(performance.now() - t).toFixed(0)} ms, loss ${loss.toFixed(4)}`);
  }
  const trainStepMs = (performance.now() - t0) / nSteps;
  let kernels;
  if (profile) {
    const info = await tf.profile(() => {
      step();
    });
    const byName = new Map();
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number((await k.kernelTimeMs)?.kernelMs ?? 0);
      byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
    }
    const total = [...byName.values()].reduce((a, b) => a + b, 0);
    kernels = [...byName.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([name, ms]) => ({ name, ms: +ms.toFixed(1), share: +((100 * ms) / total).toFixed(1) }));
  }
  const infer = () => {
    const out = model.forward(x);
    out.logits.dataSync();
    tf.dispose(out);
  };
  infer();
  const nInfer = Math.max(1, nSteps);
  const t1 = performance.now();
  for (let i = 0; i < nInfer; i++) infer();
  const inferImagesPerSec = (B * nInfer) / ((performance.now() - t1) / 1000);
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return { backend, trainStepMs, inferImagesPerSec, kernels };
}

/** The small-ViT train step with the fused kernels off (A) and on (B), alternated; medians and the ratio. */
async function smallViTAB(rounds) {
  await initBackend('wasm');
  const { AdamW: TrainAdamW } = await import(new URL('../../train/dist/index.js', import.meta.url).href);
  const FUSED = ['DistilleryLayerNorm', 'DistilleryLayerNormGrad', 'DistilleryGelu', 'DistilleryGeluGrad'];
  const setFused = (on) => {
    if (on) registerKernels();
    else
      for (const k of [...FUSED, 'DistilleryAdamWUpdate']) if (tf.getKernel(k, 'wasm')) tf.unregisterKernel(k, 'wasm');
  };
  const config = { imageSize: 28, patchSize: 4, inChannels: 1, embedDim: 64, depth: 4, numHeads: 4, numClasses: 10 };
  const model = createViT('deit-tiny-patch4-32', { ...config, seed: 0 });
  const vars = model.trainableVariables();
  const optimizer = new TrainAdamW(vars, { lr: 5e-4, weightDecay: 0.05 });
  const x = tf.randomNormal([64, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() =>
          tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(model.forward(x, { training: true }).logits)), -1))),
        ),
      vars,
    );
    optimizer.step(grads);
    value.dataSync();
    tf.dispose([value, grads]);
  };
  const times = { A: [], B: [] };
  const kernelCalls = {};
  for (const mode of ['A', 'B']) {
    setFused(mode === 'B');
    step(); // warm-up
    kernelCalls[mode] = (await tf.profile(step)).kernels.length;
  }
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      setFused(mode === 'B');
      const t = performance.now();
      step();
      times[mode].push(performance.now() - t);
    }
  }
  setFused(true);
  const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
  const [a, b] = [median(times.A), median(times.B)];
  console.log('\n### @distillery/vit — small ViT (D64, depth 4, 4 heads, 28×28×1, patch 4), B64, AdamW, wasm\n');
  console.log(`A/B alternated, ${rounds} rounds, median ms per train step; kernel calls per step from tf.profile.\n`);
  console.log('| fused kernels | train step (ms) | kernel calls | speed-up |');
  console.log('|---|---|---|---|');
  console.log(`| off (composed LayerNorm, GELU, AdamW ops) | ${a.toFixed(0)} | ${kernelCalls.A} | 1.00× |`);
  console.log(
    `| on (fused LayerNorm, GELU, AdamW update) | ${b.toFixed(0)} | ${kernelCalls.B} | ${(a / b).toFixed(2)}× |`,
  );
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
}

if (args.includes('--small-ab')) {
  await smallViTAB(arg('--small-ab', 10));
  process.exit(0);
}

const backends = (args.includes('--backends') ? args[args.indexOf('--backends') + 1] : 'wasm,cpu').split(',');
const results = [];
for (const backend of backends) results.push(await run(backend, backend === 'cpu' ? cpuSteps : steps));
let torch;
if (!args.includes('--no-torch')) {
  const script = path.resolve(here, '../../../tools/bench/vit.py');
  const out = execFileSync('/usr/bin/python3', [script, String(steps), String(steps)], { encoding: 'utf8' });
  torch = JSON.parse(out.trim().split('\n').pop());
}

console.log('\n### @distillery/vit — DeiT-Tiny 32 px (patch 4, dim 192, depth 12, 3 heads), batch 32\n');
console.log('| backend | train step (ms) | vs PyTorch 1 thread | inference (images/s) |');
console.log('|---|---|---|---|');
for (const r of results) {
  const ratio = torch ? `${(r.trainStepMs / torch.trainStepMs).toFixed(2)}×` : 'n/a';
  console.log(`| tfjs ${r.backend} | ${r.trainStepMs.toFixed(0)} | ${ratio} | ${r.inferImagesPerSec.toFixed(1)} |`);
}
if (torch) {
  console.log(
    `| PyTorch ${torch.torch} (1 thread) | ${torch.trainStepMs.toFixed(0)} | 1.00× | ${torch.inferImagesPerSec.toFixed(1)} |`,
  );
}
for (const r of results) {
  if (!r.kernels) continue;
  console.log(`\nTop kernels, one ${r.backend} training step (tf.profile):\n`);
  console.log('| kernel | ms | share |');
  console.log('|---|---|---|');
  for (const k of r.kernels) console.log(`| ${k.name} | ${k.ms} | ${k.share}% |`);
}
