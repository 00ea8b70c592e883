// A corrupt checkpoint (with --resume) or a corrupt dataset (--data <path>) must stop the `distillery` command with a
// one-line `distillery: <file>: ...` message and exit code 1: never a stack trace.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli } from './support/cli.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'distillery-corrupt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => assertBuilt());

type Result = { code: number | null; stdout: string; stderr: string };

/** Exit 1, exactly one line on stderr, starting `distillery: <file>`, and no stack frames anywhere. */
function expectCleanError(result: Result, file: string, what: RegExp) {
  expect(result.code).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^distillery: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  expect(lines[0]).toMatch(what);
  expect(result.stderr + result.stdout).not.toMatch(/\n\s+at /);
  expect(result.stderr).not.toContain('unexpected error');
}

/** A CIFAR-10 batch of `n` records (label byte + 3072 pixel bytes). */
function cifarBatch(n: number): Buffer {
  const b = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    b[i * 3073] = i % 10;
    for (let p = 1; p < 3073; p++) b[i * 3073 + p] = (i * 31 + p * 7) % 256;
  }
  return b;
}

describe('distillery run: corrupt checkpoints with --resume', () => {
  const kd = (out: string) => [
    'run',
    'kd',
    '--backend',
    'wasm',
    '--smoke',
    '--seed',
    '3',
    '--progress',
    'none',
    '--out',
    out,
    '--resume',
  ];
  let good: string;

  beforeAll(async () => {
    // A real checkpoint to truncate: one smoke run.
    const out = path.join(work, 'good');
    const r = (await runCli(kd(out).slice(0, -1))) as Result;
    expect(r.code, r.stderr).toBe(0);
    good = path.join(out, 'checkpoints', 'teacher.safetensors');
  }, 120_000);

  it('a truncated checkpoint names the file and says what to do', async () => {
    const out = path.join(work, 'truncated');
    mkdirSync(path.join(out, 'checkpoints'), { recursive: true });
    const file = path.join(out, 'checkpoints', 'teacher.safetensors');
    const bytes = readFileSync(good);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectCleanError((await runCli(kd(out))) as Result, file, /not a readable distillery checkpoint.*delete it/);
  }, 60_000);

  it('a garbage checkpoint and an empty one, too', async () => {
    for (const [name, content] of [
      ['garbage', 'this is not a safetensors file at all\n'],
      ['empty', ''],
    ] as const) {
      const out = path.join(work, name);
      mkdirSync(path.join(out, 'checkpoints'), { recursive: true });
      const file = path.join(out, 'checkpoints', 'teacher.safetensors');
      writeFileSync(file, content);
      expectCleanError((await runCli(kd(out))) as Result, file, /not a readable distillery checkpoint/);
    }
  }, 60_000);

  it('a checkpoint of another model (a full-size one resumed with --smoke) is a shape mismatch, not a crash', async () => {
    const out = path.join(work, 'other-model');
    mkdirSync(path.join(out, 'checkpoints'), { recursive: true });
    // The teacher's checkpoint where the first student's belongs: the parameter count differs.
    copyFileSync(good, path.join(out, 'checkpoints', 'teacher.safetensors'));
    const file = path.join(out, 'checkpoints', 'student-ce.safetensors');
    copyFileSync(good, file);
    expectCleanError((await runCli(kd(out))) as Result, file, /expected \d+ parameters/);
  }, 60_000);
});

describe('distillery run deit-lt --data <CIFAR path>: corrupt data', () => {
  const deit = (data: string) => [
    'run',
    'deit-lt',
    '--backend',
    'wasm',
    '--smoke',
    '--progress',
    'none',
    '--out',
    path.join(work, 'deit'),
    '--data',
    data,
  ];

  function cifarFolder(name: string): string {
    const dir = path.join(work, name, 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    for (let i = 1; i <= 5; i++) writeFileSync(path.join(dir, `data_batch_${i}.bin`), cifarBatch(40));
    writeFileSync(path.join(dir, 'test_batch.bin'), cifarBatch(20));
    return dir;
  }

  it('a truncated CIFAR batch names the file and the record size', async () => {
    const dir = cifarFolder('cifar-truncated');
    const file = path.join(dir, 'data_batch_3.bin');
    writeFileSync(file, cifarBatch(40).subarray(0, 5000));
    expectCleanError(
      (await runCli(deit(path.dirname(dir)))) as Result,
      file,
      /expected a multiple of 3073-byte cifar10 records, got 5000 bytes/,
    );
  }, 60_000);

  it('a missing CIFAR batch names the file', async () => {
    const dir = cifarFolder('cifar-missing');
    rmSync(path.join(dir, 'test_batch.bin'));
    expectCleanError((await runCli(deit(dir))) as Result, path.join(dir, 'test_batch.bin'), /missing/);
  }, 60_000);

  it('a garbage file where the .tar.gz archive is expected', async () => {
    const file = path.join(work, 'cifar-10-binary.tar.gz');
    writeFileSync(file, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) % 251)));
    expectCleanError((await runCli(deit(file))) as Result, file, /expected a tar archive/);
    const gz = path.join(work, 'cut.tar.gz');
    writeFileSync(gz, Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6]));
    expectCleanError((await runCli(deit(gz))) as Result, gz, /expected a gzip-compressed tar archive/);
  }, 60_000);

  it('a path that does not exist', async () => {
    const file = path.join(work, 'no-such-cifar');
    expectCleanError((await runCli(deit(file))) as Result, file, /expected an existing CIFAR folder/);
  }, 60_000);

  it('a well-formed CIFAR folder trains (smoke)', async () => {
    const dir = cifarFolder('cifar-good');
    const r = (await runCli(deit(path.dirname(dir)))) as Result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('CIFAR-10, IF 10');
  }, 120_000);
});
