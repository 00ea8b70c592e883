// Shared by the benchmarks: timing, the PyTorch side, and markdown tables.
import { spawnSync } from 'node:child_process';

/** Median wall time in ms of `fn` (awaited) over `repeats` runs after `warmup` runs. */
export async function timeMs(fn, { warmup = 2, repeats = 5 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * Runs a PyTorch reference benchmark with Debian's interpreter (one thread) and returns its JSON, or null with a
 * reason when torch is not installed here.
 */
export function runPython(script, args = []) {
  const python = process.env.DISTILLERY_PYTHON ?? '/usr/bin/python3';
  const result = spawnSync(python, [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (result.status !== 0)
    return { error: (result.stderr || result.error?.message || 'failed').trim().split('\n').at(-1) };
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

export function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

export const fmt = (ms) => (ms == null ? '—' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
export const ratio = (a, b) => (a == null || b == null ? '—' : `${(a / b).toFixed(2)}×`);
