// Batched float32 matMuls on wasm (vision-transformer attention: Q·Kᵀ and A·V per head) with tfjs-wasm's own kernel
// (before: DISTILLERY_WASM_BATCH_MATMUL=off, in a child process) and with the WebAssembly SIMD kernel (after), beside
// torch.bmm on one thread, in one run. Times are medians; the machine may be shared, so repeat runs before trusting
// small differences.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, Rng, randomNormal, tf } from '@distillery/tensor';
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
  await initBackend('wasm');
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
