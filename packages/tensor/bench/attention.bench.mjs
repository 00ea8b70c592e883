// Attention softmax(q·kᵀ·scale)·v at DeiT-Tiny B32 sizes ([32, 3, 65, 64]): forward, and forward + backward (dq, dk,
// dv), as the fused op (`scaledDotProductAttention`) and as the composed tfjs ops (batched matMuls + softmax, what
// the ViT ran before), on wasm at 1 and 2 threads (and all cores where there are more) and on cpu, beside PyTorch at
// the same thread count (tools/bench/attention.py), in the same run. Over the built package:
// `pnpm --filter @distillery/tensor build` first.
//
//   node packages/tensor/bench/attention.bench.mjs [--rounds 5] [--threads 1,2] [--no-cpu] [--shape 32,3,65,64]
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composedAttention, disposeThreads, initBackend, scaledDotProductAttention, tf } from '@distillery/tensor';
import { fmt, ratio, runPython, table } from '../../../scripts/bench-utils.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const rounds = Number(option('--rounds', 5));
const shape = option('--shape', '32,3,65,64').split(',').map(Number);
const cores = os.availableParallelism();
const counts = option('--threads', [...new Set([1, 2, cores])].sort((a, b) => a - b).join(','))
  .split(',')
  .map(Number);

/** The three timed works on the current backend, each returning a function to call once. */
function works() {
  const [q, k, v, w] = [1, 2, 3, 4].map((seed) => tf.randomNormal(shape, 0, 1, 'float32', seed));
  const scale = shape[3] ** -0.5;
  const step = (attend) => () => {
    const grads = tf.grads((a, b, c) => tf.sum(tf.mul(attend(a, b, c), w)))([q, k, v]);
    grads[0].dataSync();
    tf.dispose(grads);
  };
  return {
    tensors: [q, k, v, w],
    fusedForward: () => {
      const out = scaledDotProductAttention(q, k, v);
      out.dataSync();
      out.dispose();
    },
    fusedStep: step((a, b, c) => scaledDotProductAttention(a, b, c)),
    composedStep: step((a, b, c) => composedAttention(a, b, c, scale)),
  };
}

const KEYS = ['fusedForward', 'fusedStep', 'composedStep'];
const time = (fn) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// wasm: the thread counts alternate round by round (same tensors), so the machine's load hits all alike.
const load0 = os.loadavg()[0];
await initBackend('wasm', { threads: 1 });
const wasmWorks = works();
const wasmTimes = Object.fromEntries(counts.map((t) => [t, Object.fromEntries(KEYS.map((key) => [key, []]))]));
for (let round = -1; round < rounds; round++) {
  for (const t of counts) {
    await initBackend('wasm', { threads: t });
    for (const key of KEYS) {
      const ms = time(wasmWorks[key]);
      if (round >= 0) wasmTimes[t][key].push(ms);
    }
  }
}
tf.dispose(wasmWorks.tensors);
await disposeThreads();
let cpuTimes;
if (!args.includes('--no-cpu')) {
  await initBackend('cpu');
  const cpuWorks = works();
  cpuTimes = Object.fromEntries(KEYS.map((key) => [key, []]));
  for (let round = -1; round < Math.min(rounds, 3); round++) {
    for (const key of KEYS) {
      const ms = time(cpuWorks[key]);
      if (round >= 0) cpuTimes[key].push(ms);
    }
  }
  tf.dispose(cpuWorks.tensors);
}
const load1 = os.loadavg()[0];

const spec = shape.join(',');
const torch = Object.fromEntries(
  counts.map((t) => [
    t,
    runPython(path.join(here, '../../../tools/bench/attention.py'), ['--threads', String(t), spec]),
  ]),
);

const rows = [];
for (const t of counts) {
  const m = Object.fromEntries(KEYS.map((key) => [key, median(wasmTimes[t][key])]));
  const pt = torch[t].ms?.[spec];
  rows.push([
    `wasm, ${t} thread${t > 1 ? 's' : ''}`,
    fmt(m.fusedForward),
    fmt(m.fusedStep),
    fmt(m.composedStep),
    ratio(m.composedStep, m.fusedStep),
    fmt(pt?.forwardMs),
    fmt(pt?.stepMs),
    ratio(m.fusedStep, pt?.stepMs),
  ]);
}
if (cpuTimes) {
  const m = Object.fromEntries(KEYS.map((key) => [key, median(cpuTimes[key])]));
  const pt = torch[1]?.ms?.[spec];
  rows.push([
    'cpu',
    fmt(m.fusedForward),
    fmt(m.fusedStep),
    fmt(m.composedStep),
    ratio(m.composedStep, m.fusedStep),
    fmt(pt?.forwardMs),
    fmt(pt?.stepMs),
    ratio(m.fusedStep, pt?.stepMs),
  ]);
}
console.log(`\n### @distillery/tensor — attention softmax(q·kᵀ·scale)·v, [${shape.join(', ')}] (B, H, N, d)\n`);
console.log(
  table(
    [
      'backend',
      'fused forward (ms)',
      'fused fwd+bwd (ms)',
      'composed fwd+bwd (ms)',
      'fused speed-up',
      'PyTorch forward (ms)',
      'PyTorch fwd+bwd (ms)',
      'fused / PyTorch',
    ],
    rows,
  ),
);
const version = Object.values(torch).find((r) => r.version)?.version;
console.log(
  `\nMedians of ${rounds} rounds (cpu: ${Math.min(rounds, 3)}); PyTorch ${version ?? `unavailable: ${torch[1]?.error}`} at the same thread count (torch.set_num_threads; the cpu row beside 1 thread). Load average ${load0.toFixed(1)} → ${load1.toFixed(1)} on ${cores} cores (other processes share this machine).`,
);
