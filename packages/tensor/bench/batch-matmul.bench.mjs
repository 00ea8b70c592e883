// Batched float32 matMuls on wasm (vision-transformer attention: Q·Kᵀ and A·V per head) with tfjs-wasm's own kernel
// (before: DISTILLERY_WASM_BATCH_MATMUL=off, in a child process) and with the WebAssembly SIMD kernel (after), beside
// torch.bmm on one thread, in one run. Times are medians; the machine may be shared, so repeat runs before trusting
// small differences.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, Rng, randomNormal, tf } from '@distillery/tensor';
import * as wasmEncoder from '@distillery/tensor/wasm';
import { fmt, ratio, runPython, table, timeMs } from '../../../scripts/bench-utils.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const thisFile = fileURLToPath(import.meta.url);
const OFF = 'DISTILLERY_WASM_BATCH_MATMUL';

/** [batch, m, k, n, transposeB]: heads × batch of attention products (65 = 8×8 patches + cls, 197 = 14×14 + cls). */
const shapes = [
  [96, 65, 64, 65, false],
  [96, 197, 64, 197, false],
  [384, 65, 64, 65, false],
  [96, 65, 64, 65, true],
];
const label = ([batch, m, k, n, tB]) =>
  tB ? `[${batch},${m},${k}]@[${batch},${n},${k}]ᵀ` : `[${batch},${m},${k}]@[${batch},${k},${n}]`;
const flops = ([batch, m, k, n]) => 2 * batch * m * k * n;

async function measure() {
  await initBackend('wasm', { threads: 1 });
  const rng = new Rng(0);
  const ms = [];
  for (const [batch, m, k, n, tB] of shapes) {
    const a = randomNormal([batch, m, k], rng);
    const b = randomNormal(tB ? [batch, n, k] : [batch, k, n], rng);
    // tfjs-wasm runs kernels synchronously, so the op's wall time is the kernel's (with its copies in and out of
    // the SIMD kernel's memory); reading the result back to JavaScript is left out, as in training.
    ms.push(
      await timeMs(
        () => {
          tf.matMul(a, b, false, tB).dispose();
        },
        { warmup: 3, repeats: 21 },
      ),
    );
    tf.dispose([a, b]);
  }
  return ms;
}

if (process.argv.includes('--child')) {
  console.log(JSON.stringify(await measure()));
} else {
  const after = await measure();
  const child = spawnSync(process.execPath, [thisFile, '--child'], {
    encoding: 'utf8',
    env: { ...process.env, [OFF]: 'off' },
  });
  if (child.status !== 0) throw new Error(`the 'before' run failed: ${child.stderr}`);
  const before = JSON.parse(child.stdout.trim().split('\n').at(-1));
  const torch = runPython(
    path.join(here, '../../../tools/bench/batch_matmul.py'),
    shapes.filter((s) => !s[4]).map(([batch, m, k, n]) => `${batch},${m},${k},${n}`),
  );
  const gflops = (s, ms) => (flops(s) / (ms * 1e6)).toFixed(1);
  const rows = shapes.map((s, i) => {
    const torchMs = s[4] ? null : torch.ms?.[`${s[0]},${s[1]},${s[2]},${s[3]}`];
    return [
      label(s),
      `${fmt(before[i])} (${gflops(s, before[i])})`,
      `${fmt(after[i])} (${gflops(s, after[i])})`,
      ratio(before[i], after[i]),
      torchMs == null ? '—' : `${fmt(torchMs)} (${gflops(s, torchMs)})`,
      ratio(after[i], torchMs),
    ];
  });
  console.log(
    table(
      [
        'matMul (wasm)',
        'before: tfjs-wasm ms (GFLOP/s)',
        'after: SIMD kernel ms (GFLOP/s)',
        'speed-up',
        'PyTorch bmm 1 thread ms (GFLOP/s)',
        'after / PyTorch',
      ],
      rows,
    ),
  );
  if (torch.error) console.log(`\nPyTorch reference unavailable: ${torch.error}`);
  else console.log(`\nPyTorch ${torch.version}, one thread.`);
}

// ---- Threads: the wasm matMul on the thread pool at 1, 2 (and all) threads, beside torch at equal threads ----------
if (!process.argv.includes('--child')) await threadRows();

/**
 * A pure multiply-add loop in WebAssembly SIMD, the ceiling for the matMul kernel on one core: 12 independent chains
 * `acc = acc·m + c`, enough to cover the latency, in registers only, 8 flops per chain step (4 lanes × 2). Each step
 * is one f32x4.relaxed_madd where relaxed SIMD validates (as the kernel then does), else f32x4.mul then f32x4.add.
 * Returns the GFLOP/s and which loop ran.
 */
function peakGflops() {
  for (const fma of [true, false]) {
    const gflops = peakLoop(fma);
    if (gflops !== null) return { gflops, fma };
  }
  throw new Error('no WebAssembly SIMD');
}

function peakLoop(fma) {
  const { encodeModule, op, valType } = wasmEncoder;
  const CHAINS = 12;
  const ITERS = 0;
  const M = CHAINS + 1;
  const C = CHAINS + 2;
  const f32x4 = (v) => [...new Uint8Array(Float32Array.of(v, v, v, v).buffer)];
  const body = [];
  const emit = (...parts) => {
    for (const p of parts) body.push(...p);
  };
  emit(op.v128Const(f32x4(0.999)), op.set(M), op.v128Const(f32x4(0.001)), op.set(C));
  for (let i = 1; i <= CHAINS; i++) emit(op.v128Const(f32x4(i / CHAINS)), op.set(i));
  emit(op.loop());
  for (let i = 1; i <= CHAINS; i++) {
    if (fma) emit(op.get(i), op.get(M), op.get(C), op.f32x4RelaxedMadd(), op.set(i));
    else emit(op.get(i), op.get(M), op.f32x4Mul(), op.get(C), op.f32x4Add(), op.set(i));
  }
  emit(op.get(ITERS), op.i32Const(1), op.i32Sub(), op.tee(ITERS), op.brIf(0), op.end());
  for (let i = 2; i <= CHAINS; i++) emit(op.get(1), op.get(i), op.f32x4Add(), op.set(1));
  emit(op.i32Const(0), op.get(1), op.v128Store(0));
  const bytes = encodeModule([
    {
      name: 'peak',
      params: [valType.i32],
      results: [],
      locals: new Array(CHAINS + 2).fill(valType.v128),
      body,
    },
  ]);
  if (!WebAssembly.validate(bytes)) return null;
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports.peak;
  const iterations = 2e6;
  peak(1e5);
  const ms = [];
  for (let r = 0; r < 25; r++) {
    const t0 = performance.now();
    peak(iterations);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return (iterations * CHAINS * 8) / (ms[0] * 1e6); // the fastest of 25 short runs: the least disturbed by others
}

async function threadRows() {
  const cores = os.availableParallelism();
  const counts = [...new Set([1, 2, cores])].sort((a, b) => a - b);
  /** [batch, m, k, n]: DeiT-Tiny B32's attention (96 heads × 65 tokens) and MLP linear layers, and a large product. */
  const threadShapes = [
    [96, 65, 64, 65],
    [1, 2080, 192, 768],
    [1, 2080, 768, 192],
    [4, 512, 512, 512],
  ];
  const rounds = 3;
  const best = threadShapes.map(() => Object.fromEntries(counts.map((t) => [t, Number.POSITIVE_INFINITY])));
  const rng = new Rng(1);
  // Rounds alternate the thread counts, so a change in the machine's load hits all of them alike.
  for (let round = 0; round < rounds; round++) {
    for (const t of counts) {
      await initBackend('wasm', { threads: t });
      for (const [i, [batch, m, k, n]] of threadShapes.entries()) {
        const a = randomNormal(batch > 1 ? [batch, m, k] : [m, k], rng);
        const b = randomNormal(batch > 1 ? [batch, k, n] : [k, n], rng);
        const ms = await timeMs(() => tf.matMul(a, b).dispose(), {
          warmup: 1,
          repeats: flops([batch, m, k, n]) > 5e8 ? 3 : 9,
        });
        best[i][t] = Math.min(best[i][t], ms);
        tf.dispose([a, b]);
      }
    }
  }
  const torchByThreads = Object.fromEntries(
    counts.map((t) => [
      t,
      runPython(path.join(here, '../../../tools/bench/batch_matmul.py'), [
        '--threads',
        String(t),
        ...threadShapes.map((s) => s.join(',')),
      ]),
    ]),
  );
  const gf = (s, ms) => (flops(s) / (ms * 1e6)).toFixed(1);
  const headers = ['matMul [batch, m, k, n]'];
  for (const t of counts)
    headers.push(`${t} thread${t > 1 ? 's' : ''} ms (GFLOP/s)`, `PyTorch ${t}t ms`, `ratio ${t}t`);
  for (const t of counts.slice(1)) headers.push(`speed-up ${t}t/1t`);
  const rows = threadShapes.map((s, i) => {
    const row = [`[${s.join(', ')}]`];
    for (const t of counts) {
      const torchMs = torchByThreads[t]?.ms?.[s.join(',')];
      row.push(`${fmt(best[i][t])} (${gf(s, best[i][t])})`, fmt(torchMs), ratio(best[i][t], torchMs));
    }
    for (const t of counts.slice(1)) row.push(ratio(best[i][1], best[i][t]));
    return row;
  });
  console.log(`\n### Threads: wasm matMul on the thread pool (best of ${rounds} alternating rounds), beside PyTorch\n`);
  console.log(table(headers, rows));
  console.log(
    '\nEvery product runs on the SIMD kernel (a batch of 1 too, from 4 rows), on one thread or split over the pool.',
  );

  // Roofline: the SIMD kernel on the large product against a measured multiply-add peak.
  const { gflops: peak, fma } = peakGflops();
  const large = threadShapes.length - 1;
  const s = threadShapes[large];
  const lines = counts.map((t) => {
    const reached = flops(s) / (best[large][t] * 1e6);
    return `${t} thread${t > 1 ? 's' : ''}: ${reached.toFixed(1)} GFLOP/s = ${((100 * reached) / (peak * t)).toFixed(0)}% of ${(peak * t).toFixed(1)}`;
  });
  console.log(
    `\nRoofline, matMul kernel on [${s.join(', ')}]: ${lines.join('; ')} GFLOP/s (peak: a measured wasm SIMD loop of 12 independent ${fma ? 'f32x4.relaxed_madd (fused multiply-add)' : 'f32x4 mul + add'} chains, ${peak.toFixed(1)} GFLOP/s on one core (fastest of 25 runs of 2·10⁶ steps), times the threads; under load the peak and the kernel are both measured low).`,
  );
  console.log(
    `Load average during the run: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')} on ${cores} cores.`,
  );
  const torchInfo = torchByThreads[1];
  if (torchInfo?.error) console.log(`PyTorch reference unavailable: ${torchInfo.error}`);
  const { disposeThreads } = await import('@distillery/tensor');
  await disposeThreads();
}
