// Forward + backward of every @distillery/losses loss at N=256, C=1000 (TRG: tokens [64, 196, 192], 16 sampled per
// image) on wasm and cpu, beside the same computation in PyTorch on this machine (tools/bench/losses.py, one thread),
// in one run. Columns: ms per forward + backward (median of 5 after 2 warm-ups), the ratio to PyTorch, and the ratio
// to plain crossEntropy on the same backend.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as L from '@distillery/losses';
import { effectiveNumberWeights } from '@distillery/samplers';
import { mixupTargets } from '@distillery/soft-labels';
import { createRng, initBackend, oneHotFloat, randomNormal, tf } from '@distillery/tensor';
import { fmt, ratio, runPython, table, timeMs } from '../../../scripts/bench-utils.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const backends = (process.env.DISTILLERY_BENCH_BACKENDS ?? 'wasm,cpu').split(',');
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

async function benchBackend(backend) {
  await initBackend(backend);
  const { cases, keep } = makeCases();
  const out = {};
  for (const [name, [fn, xs]] of Object.entries(cases)) {
    out[name] = await timeMs(async () => {
      const { value, grads } = tf.valueAndGrads(fn)(xs);
      await Promise.all(grads.map((g) => g.data()));
      tf.dispose([value, ...grads]);
    });
  }
  tf.dispose(keep);
  return out;
}

const results = {};
for (const backend of backends) results[backend] = await benchBackend(backend);
const torch = runPython(path.join(here, '../../../tools/bench/losses.py'));

const rows = [];
for (const name of Object.keys(results[backends[0]])) {
  for (const backend of backends) {
    const ms = results[backend][name];
    rows.push([
      name,
      backend,
      fmt(ms),
      fmt(torch[name]),
      ratio(ms, torch[name]),
      ratio(ms, results[backend].crossEntropy),
    ]);
  }
}
console.log(`forward + backward, N=${N}, C=${C}\n`);
console.log(
  table(['loss', 'backend', 'ms (tfjs)', 'ms (PyTorch 1 thread)', 'ratio', '× plain CE (same backend)'], rows),
);
if (torch.error) console.log(`\nPyTorch reference unavailable: ${torch.error}`);
else console.log(`\nPyTorch ${torch.version}, torch.set_num_threads(1)`);
