// Interrupt a recipe with SIGINT through the real `distillery` command, resume it with --resume, and check that the
// results equal an uninterrupted run with the same seed: the same metrics.json and byte-identical weights.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, startCli, waitForFile } from './support/cli.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'distillery-resume-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => assertBuilt());

// kd at full model size, 2 epochs: a ResNet teacher (BatchNorm: running statistics must survive the resume), then five
// ViT students; ~10 s on wasm. Small enough for the suite, large enough that the metrics are not all chance level.
const args = (out: string, ...extra: string[]) => [
  'run',
  'kd',
  '--backend',
  'wasm',
  '--epochs',
  '2',
  '--seed',
  '3',
  '--progress',
  'lines',
  '--out',
  out,
  ...extra,
];

type Result = { code: number | null; signal: string | null; stdout: string; stderr: string };

describe('distillery run kd: SIGINT, then --resume', () => {
  it('ends with the same metrics and weights as an uninterrupted run', async () => {
    const reference = path.join(work, 'reference');
    const resumed = path.join(work, 'resumed');
    // The uninterrupted run goes alongside the interrupted one.
    const whole = runCli(args(reference)) as Promise<Result>;

    const first = startCli(args(resumed)) as {
      child: import('node:child_process').ChildProcess;
      done: Promise<Result>;
    };
    // After the teacher and the first epoch of the first student: the resumed run restores a finished model (the
    // teacher, whose BatchNorm buffers only exist in the checkpoint) and continues a half-trained one.
    await waitForFile(path.join(resumed, 'checkpoints', 'student-ce.safetensors'));
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('distillery: interrupted; run the same command with --resume');
    expect(readdirSync(path.join(resumed))).not.toContain('metrics.json');

    const second = (await runCli(args(resumed, '--resume'))) as Result;
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const reference_ = (await whole) as Result;
    expect(reference_.code).toBe(0);

    const metrics = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(metrics(resumed)).toEqual(metrics(reference));
    const weights = readdirSync(path.join(reference, 'weights')).sort();
    expect(weights).toEqual([
      'student-ce.safetensors',
      'student-clkd.safetensors',
      'student-dkd.safetensors',
      'student-kd.safetensors',
      'student-nkd.safetensors',
      'teacher.safetensors',
    ]);
    expect(readdirSync(path.join(resumed, 'weights')).sort()).toEqual(weights);
    for (const file of weights) {
      const a = readFileSync(path.join(reference, 'weights', file));
      const b = readFileSync(path.join(resumed, 'weights', file));
      expect(Buffer.compare(a, b), `weights/${file} differ`).toBe(0);
    }
  }, 120_000);
});
