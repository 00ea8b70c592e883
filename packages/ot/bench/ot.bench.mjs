// P²OT solve time at N=5120, K=100 (the official logits bank) and N=50000, K=1000, and balanced Sinkhorn at
// 1000×1000, on the host float64 engine (WebAssembly SIMD sweeps) and the tfjs wasm / cpu backends (float32
// log-domain engine), beside the
// reference solvers (PyTorch SemiCurrSinkhornKnopp, POT ot.sinkhorn; one thread, tools/bench/ot.py) on the same
// deterministic inputs. Runs over the built package: `pnpm --filter @distillery/ot build` first.
//
//   node packages/ot/bench/ot.bench.mjs [--big-iter 5] [--backends wasm,cpu (default) | wasm | none] [--no-big]
//     [--no-python]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '@distillery/tensor';
import { p2ot, sinkhorn } from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const bigIter = Number(opt('--big-iter', 5));
const backends = opt('--backends', 'wasm,cpu')
  .split(',')
  .filter((b) => b && b !== 'none');
const cases = [{ n: 5120, k: 100, maxIter: 1000 }];
if (!args.includes('--no-big')) cases.push({ n: 50000, k: 1000, maxIter: bigIter });
const sinkhornCases = [
  { n: 1000, reg: 0.05, maxIter: 1000 },
  { n: 1000, reg: 0.01, maxIter: 1000 },
];

/** z_ij = 4 sin(0.37 i + 1.7 j) + 2 cos(0.05 (i mod 97) j), float32 (same formula as tools/bench/ot.py). */
function benchLogits(n, k) {
  const z = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) z[i * k + j] = 4 * Math.sin(0.37 * i + 1.7 * j) + 2 * Math.cos(0.05 * (i % 97) * j);
  }
  return tf.tensor2d(z, [n, k]);
}

function benchCost(n) {
  const pts = (f) => Array.from({ length: n }, (_, i) => f(i).map((v) => Math.fround(v)));
  const x = pts((i) => [Math.sin(0.37 * i), Math.cos(1.3 * i), Math.sin(0.11 * i + 1)]);
  const y = pts((i) => [Math.cos(0.23 * i), Math.sin(0.71 * i + 2), Math.cos(0.05 * i)]);
  const m = new Float64Array(n * n);
  let max = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = (x[i][0] - y[j][0]) ** 2 + (x[i][1] - y[j][1]) ** 2 + (x[i][2] - y[j][2]) ** 2;
      m[i * n + j] = d;
      max = Math.max(max, d);
    }
  }
  return tf.tensor2d(
    Float32Array.from(m, (v) => v / max),
    [n, n],
  );
}

const log = (msg) => console.error(`[ot bench] ${msg}`);
// Small problems: 1 warm-up + 15 timed solves on each side (this 2-core VM is noisy; medians of 5 swung ±10%).
const repeatsFor = (key) => (key === 'p2ot-50000-1000' ? 1 : 16);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
/** A tfjs engine whose solve took longer than this is not timed on the later (larger or longer) problems. */
const SLOW_MS = 30_000;
const slow = new Set();
async function timeEngines(key, label, backendList, make, solve) {
  for (const backend of backendList) {
    if (slow.has(backend)) {
      log(`${label} ${backend}: skipped (a solve took over ${SLOW_MS / 1000} s)`);
      rows.push({ key, label, engine: `tfjs ${backend} (float32)`, skipped: true });
      continue;
    }
    await initBackend(backend === 'host' ? 'cpu' : backend);
    const input = make();
    // Small problems: one warm-up solve, then the median of the rest (the reference does the same); large: one solve.
    const times = [];
    let r;
    // The tfjs float32 engines are tens of times slower: one warm-up and one timed solve (one solve at the big size,
    // or when the first takes over 10 s).
    const repeats = backend === 'host' ? repeatsFor(key) : Math.min(2, repeatsFor(key));
    for (let rep = 0; rep < repeats; rep++) {
      const t = performance.now();
      r = solve(input, backend === 'host' ? 'float64' : 'backend');
      times.push(performance.now() - t);
      if (backend !== 'host' && times[0] > 10_000) break;
    }
    if (backend !== 'host' && Math.max(...times) > SLOW_MS) slow.add(backend);
    const ms = median(times.length > 1 ? times.slice(1) : times);
    input.dispose();
    log(`${label} ${backend}: ${ms.toFixed(0)} ms, ${r.iterations} iterations`);
    rows.push({
      key,
      label,
      engine: backend === 'host' ? 'host float64' : `tfjs ${backend} (float32)`,
      ms,
      iterations: r.iterations,
    });
  }
}

for (const c of cases) {
  const label = `P²OT N=${c.n} K=${c.k} (ρ 0.5, maxIter ${c.maxIter})`;
  await timeEngines(
    `p2ot-${c.n}-${c.k}`,
    label,
    ['host', ...backends],
    () => benchLogits(c.n, c.k),
    (logits, engine) => {
      const r = p2ot(logits, { rho: 0.5, maxIter: c.maxIter, engine });
      r.pseudoLabels.dispose();
      return r;
    },
  );
}
for (const c of sinkhornCases) {
  const label = `Sinkhorn ${c.n}×${c.n} (reg ${c.reg}, tol 1e-9)`;
  await timeEngines(
    `sinkhorn-${c.n}-${c.reg}`,
    label,
    ['host', ...backends],
    () => benchCost(c.n),
    (cost, engine) => {
      const r = sinkhorn(undefined, undefined, cost, { reg: c.reg, maxIter: c.maxIter, engine });
      r.plan.dispose();
      return r;
    },
  );
}

let ref;
if (!args.includes('--no-python')) {
  const script = path.resolve(here, '../../../tools/bench/ot.py');
  const spec = JSON.stringify({
    p2ot: cases.map((c) => ({ ...c, repeats: repeatsFor(`p2ot-${c.n}-${c.k}`) })),
    sinkhorn: sinkhornCases.map((c) => ({ ...c, repeats: repeatsFor(`sinkhorn-${c.n}-${c.reg}`) })),
  });
  ref = JSON.parse(
    execFileSync('/usr/bin/python3', [script, spec], { encoding: 'utf8', maxBuffer: 1 << 24 })
      .trim()
      .split('\n')
      .pop(),
  );
  for (const r of ref.p2ot)
    rows.push({
      key: `p2ot-${r.n}-${r.k}`,
      label: `P²OT N=${r.n} K=${r.k}`,
      ref: true,
      engine: `PyTorch ${ref.torch} (1 thread, float64)`,
      ms: r.ms,
      iterations: r.iterations,
    });
  for (const r of ref.sinkhorn)
    rows.push({
      key: `sinkhorn-${r.n}-${r.reg}`,
      label: `Sinkhorn ${r.n}×${r.n} (reg ${r.reg})`,
      ref: true,
      engine: `POT ${ref.pot} ot.sinkhorn (1 thread)`,
      ms: r.ms,
      iterations: r.iterations,
    });
}

console.log('\n### @distillery/ot — solver wall time per solve\n');
console.log('| problem | engine | ms / solve | iterations | ms / iteration | time vs reference (solve; iteration) |');
console.log('|---|---|---|---|---|---|');
const refFor = (key) => rows.find((r) => r.ref && r.key === key);
for (const r of rows) {
  if (r.skipped) {
    console.log(`| ${r.label} | ${r.engine} | skipped: a solve took over ${SLOW_MS / 1000} s | | | |`);
    continue;
  }
  const reference = r.ref ? r : refFor(r.key);
  const ratio = reference
    ? `${(r.ms / reference.ms).toFixed(2)}× ; ${(r.ms / r.iterations / (reference.ms / reference.iterations)).toFixed(2)}×`
    : 'n/a';
  console.log(
    `| ${r.label} | ${r.engine} | ${r.ms.toFixed(0)} | ${r.iterations} | ${(r.ms / r.iterations).toFixed(2)} | ${ratio} |`,
  );
}
