// Forward + backward of every @distillery/losses loss at N=256, C=1000 (TRG: tokens [64, 196, 192], 16 sampled per
// image) on wasm (one thread) and cpu, beside the same computation in PyTorch on this machine (tools/bench/losses.py),
// in one run. The machine may be shared, so the measurements alternate: each of ROUNDS rounds times every case on
// the fused kernels, then on the composed ops (DISTILLERY_FUSED_LOSSES=off, the path before the fused kernels), then
// PyTorch at one thread (and at two with DISTILLERY_BENCH_TORCH_THREADS=1,2); each figure is the median over the
// rounds of each round's median of 5 runs. Each run is timed in wall time and in CPU time (process.cpuUsage; Python's
// time.process_time): on a loaded machine the wall time of anything longer than a scheduler slice is inflated by
// waiting, the CPU time is not, so the ratios are given on CPU time (one thread on both sides) and on wall time.
// DISTILLERY_BENCH_LOSSES='crossEntropy|kdLoss' restricts the cases (default: the rows of issue 15's table; 'all' for
// every loss); DISTILLERY_BENCH_BACKENDS (default wasm); DISTILLERY_BENCH_ROUNDS (default 3).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as L from '@distillery/losses';
import { effectiveNumberWeights } from '@distillery/samplers';
import { mixupTargets } from '@distillery/soft-labels';
import { createRng, initBackend, oneHotFloat, randomNormal, tf } from '@distillery/tensor';
import { fmt, ratio, runPython, table } from '../../../scripts/bench-utils.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const backends = (process.env.DISTILLERY_BENCH_BACKENDS ?? 'wasm').split(',');
const rounds = Number(process.env.DISTILLERY_BENCH_ROUNDS ?? 3);
const torchThreads = (process.env.DISTILLERY_BENCH_TORCH_THREADS ?? '1').split(',').map(Number);
/** The loss rows of issue 15's table. */
const ISSUE_ROWS = [
  'crossEntropy',
  'kdLoss',
  'dkdLoss',
  'nkdLoss',
  'deitLtDistillationLoss (hard, DRW weights)',
  'deitLtDistillationLoss (soft)',
  'mdcsLoss (3 experts, 256 rows)',
  'clkdLoss',
];
const only = process.env.DISTILLERY_BENCH_LOSSES ?? ISSUE_ROWS.join('|');
const N = 256;
const C = 1000;

function makeCases() {
  const rng = createRng(0);
  const z = (shape, scale = 2) => tf.tidy(() => tf.mul(randomNormal(shape, rng), scale));
  const s = z([N, C]);
  const t = z([N, C], 3);
  const w = z([N, C]);
  const y = tf.tensor1d(
    Array.from({ length: N }, () => rng.int(C)),
    'int32',
  );
  const counts = Array.from({ length: C }, (_, i) => Math.max(1, Math.round(500 * 0.99 ** i)));
  const priors = counts.map((n) => n / counts.reduce((a, b) => a + b, 0));
  const weights = effectiveNumberWeights(counts);
  const soft = mixupTargets(y, C, { lambda: 0.7 });
  const multi = oneHotFloat(y, C);
  const half = tf.slice(y, [0], [N / 2]);
  const labels2 = tf.concat([half, half]);
  const experts = [z([N, C]), z([N, C]), z([N, C])];
  const tokS = z([64, 196, 192], 1);
  const tokT = z([64, 196, 192], 1);
  const tokenIndices = Array.from({ length: 64 }, () => Array.from(rng.permutation(196)).slice(0, 16));
  const cos = tf.tanh(s);
  const keep = [s, t, w, y, soft, multi, half, labels2, ...experts, tokS, tokT, cos];
  /** name → [loss function of the differentiable inputs, the inputs] */
  const cases = {
    crossEntropy: [(a) => L.crossEntropy(a, y), [s]],
    kdLoss: [(a) => L.kdLoss(a, t), [s]],
    dkdLoss: [(a) => L.dkdLoss(a, t, y), [s]],
    nkdLoss: [(a) => L.nkdLoss(a, t, y), [s]],
    uskdLoss: [(a, b) => L.uskdLoss(a, b, y), [s, w]],
    'uskdLoss (mixup targets)': [(a, b) => L.uskdLoss(a, b, soft), [s, w]],
    'deitLtDistillationLoss (hard, DRW weights)': [
      (a, b) => L.deitLtDistillationLoss(a, b, t, y, { classWeights: weights }),
      [s, w],
    ],
    'deitLtDistillationLoss (soft)': [(a, b) => L.deitLtDistillationLoss(a, b, t, y, { type: 'soft' }), [s, w]],
    'mdcsLoss (3 experts, 256 rows)': [(a, b, c) => L.mdcsLoss([a, b, c], labels2, counts, { epoch: 30 }), experts],
    'crossEntropy (smoothing 0.1, weights)': [
      (a) => L.crossEntropy(a, y, { labelSmoothing: 0.1, classWeights: weights }),
      [s],
    ],
    softTargetCrossEntropy: [(a) => L.softTargetCrossEntropy(a, soft), [s]],
    balancedSoftmaxLoss: [(a) => L.balancedSoftmaxLoss(a, y, counts), [s]],
    logitAdjustedLoss: [(a) => L.logitAdjustedLoss(a, y, priors), [s]],
    ldamLoss: [(a) => L.ldamLoss(tf.tanh(a), y, counts), [s]],
    focalLoss: [(a) => L.focalLoss(a, y), [s]],
    splcLoss: [(a) => L.splcLoss(a, multi, { epoch: 3 }), [s]],
    clkdLoss: [(a) => L.clkdLoss(a, t), [s]],
    'trgLoss (tokens 64×196×192, M=16)': [(a) => L.trgLoss(a, tokT, { tokenIndices }).total, [tokS]],
  };
  return { cases, keep };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** { wall, cpu }: medians in ms of `fn` (awaited) over `repeats` runs after `warmup` runs. */
async function timeBoth(fn, { warmup = 2, repeats = 5 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    cpu.push(cpuMs() - c0);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const median = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor(v.length / 2)];
};

/** One round on `backend`: every chosen case, fused then composed, each a median of 5 after 2 warm-ups. */
async function benchRound(backend, names) {
  await initBackend(backend);
  const { cases, keep } = makeCases();
  const out = { fused: {}, composed: {} };
  for (const name of names) {
    const [fn, xs] = cases[name];
    for (const mode of ['fused', 'composed']) {
      if (mode === 'composed') process.env.DISTILLERY_FUSED_LOSSES = 'off';
      else delete process.env.DISTILLERY_FUSED_LOSSES;
      out[mode][name] = await timeBoth(async () => {
        const { value, grads } = tf.valueAndGrads(fn)(xs);
        await Promise.all(grads.map((g) => g.data()));
        tf.dispose([value, ...grads]);
      });
    }
  }
  delete process.env.DISTILLERY_FUSED_LOSSES;
  tf.dispose(keep);
  return out;
}

await initBackend(backends[0]);
const allNames = Object.keys(makeCasesNames());
function makeCasesNames() {
  const { cases, keep } = makeCases();
  tf.dispose(keep);
  return cases;
}
const names = only === 'all' ? allNames : only.split('|').filter((n) => allNames.includes(n));
const samples = {};
const torchSamples = {};
for (let r = 0; r < rounds; r++) {
  for (const backend of backends) {
    const got = await benchRound(backend, names);
    for (const mode of ['fused', 'composed']) {
      const key = `${backend}/${mode}`;
      samples[key] ??= {};
      for (const name of names) {
        samples[key][name] ??= [];
        samples[key][name].push(got[mode][name]);
      }
    }
  }
  for (const threads of torchThreads) {
    const torch = runPython(path.join(here, '../../../tools/bench/losses.py'), [
      '--threads',
      String(threads),
      '--cases',
      names.join('|'),
    ]);
    torchSamples[threads] ??= [];
    torchSamples[threads].push(torch);
  }
}
const pick = (key, name, kind) => median((samples[key]?.[name] ?? []).map((x) => x[kind]));
const torchMs = (threads, name, kind) =>
  median(torchSamples[threads].map((t) => (kind === 'cpu' ? t.cpu?.[name] : t[name])));
const torchError = torchSamples[torchThreads[0]].find((t) => t.error)?.error;
const t1 = torchThreads[0];

const rows = [];
for (const name of names) {
  for (const backend of backends) {
    const fused = (kind) => pick(`${backend}/fused`, name, kind);
    const composed = (kind) => pick(`${backend}/composed`, name, kind);
    const ce = (kind) => pick(`${backend}/fused`, 'crossEntropy', kind);
    rows.push([
      name,
      backend,
      `${fmt(fused('cpu'))} / ${fmt(fused('wall'))}`,
      `${fmt(composed('cpu'))} / ${fmt(composed('wall'))}`,
      `${fmt(torchMs(t1, name, 'cpu'))} / ${fmt(torchMs(t1, name, 'wall'))}`,
      ...torchThreads.slice(1).map((t) => fmt(torchMs(t, name, 'wall'))),
      `${ratio(fused('cpu'), torchMs(t1, name, 'cpu'))} / ${ratio(fused('wall'), torchMs(t1, name, 'wall'))}`,
      `${ratio(fused('cpu'), ce('cpu'))} / ${ratio(fused('wall'), ce('wall'))}`,
    ]);
  }
}
console.log(`forward + backward, N=${N}, C=${C}; medians over ${rounds} alternating rounds; CPU ms / wall ms\n`);
console.log(
  table(
    [
      'loss',
      'backend',
      'fused',
      'composed (before)',
      `PyTorch ${t1} thread${t1 > 1 ? 's' : ''}`,
      ...torchThreads.slice(1).map((t) => `PyTorch ${t} threads (wall)`),
      `fused / PyTorch ${t1}t`,
      '× plain CE (fused)',
    ],
    rows,
  ),
);
if (torchError) console.log(`\nPyTorch reference unavailable: ${torchError}`);
else console.log(`\nPyTorch ${torchSamples[t1][0].version}, torch.set_num_threads(${torchThreads.join(' / ')})`);
