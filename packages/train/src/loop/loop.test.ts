import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { makeSetup } from '../../test/loop-setup';
import { cosineAnnealingLR } from '../schedules/schedules';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, restoreCheckpoint } from './checkpoint';
import { type FitOptions, fit } from './fit';
import { ProgressReporter } from './progress';

const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-train-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const common = { batchSize: 16, seed: 5, progress: 'none' as const };
/** The loss of makeSetup(), whose batch type `fit` infers from `data.batch`. */
type Loss = FitOptions<ReturnType<ReturnType<typeof makeSetup>['data']['batch']>>['loss'];

describe('fit: checkpoints and exact resume', () => {
  it('resuming after epoch 2 gives the same losses, weights and EMA as an uninterrupted run', async () => {
    const dir = tmp();
    const a = makeSetup();
    const full = await fit({ ...a, ...common, epochs: 4, schedule: cosineAnnealingLR(0.05, { tMax: 4 }) });
    const b = makeSetup();
    const ckpt = path.join(dir, 'run.safetensors');
    await fit({ ...b, ...common, epochs: 2, checkpoint: ckpt, schedule: cosineAnnealingLR(0.05, { tMax: 4 }) });
    b.dispose();
    const c = makeSetup();
    const resumed = await fit({
      ...c,
      ...common,
      epochs: 4,
      checkpoint: ckpt,
      resume: true,
      schedule: cosineAnnealingLR(0.05, { tMax: 4 }),
    });
    expect(resumed.startEpoch).toBe(2);
    expect(resumed.history.map((r) => r.loss)).toEqual(full.history.map((r) => r.loss));
    expect(full.history[3]!.loss).toBeLessThan(full.history[0]!.loss);
    c.params.forEach((p, i) => {
      expect(Array.from(p.dataSync())).toEqual(Array.from(a.params[i]!.dataSync()));
    });
    expect(Array.from(c.ema.weights[0]!.dataSync())).toEqual(Array.from(a.ema.weights[0]!.dataSync()));
    expect(c.optimizer.stepCount).toBe(a.optimizer.stepCount);
    a.dispose();
    c.dispose();
  });

  it('host training state (options.state) is checkpointed and restored: resumed run = uninterrupted run', async () => {
    const dir = tmp();
    // A memory updated inside the loss, like SCPNet's pseudo-label memory: per-epoch sums of the batch losses.
    const memory = () => {
      const sums: number[] = [];
      return {
        sums,
        wrap:
          (loss: Loss): Loss =>
          (batch, ctx) => {
            const l = loss(batch, ctx);
            sums[ctx.epoch] = (sums[ctx.epoch] ?? 0) + ctx.batchIndex + 1;
            return l;
          },
        state: {
          save: () => ({ sums: [...sums] }),
          restore: (saved: unknown) => sums.splice(0, sums.length, ...(saved as { sums: number[] }).sums),
        },
      };
    };
    const schedule = cosineAnnealingLR(0.05, { tMax: 3 });
    const a = makeSetup();
    const ma = memory();
    const full = await fit({ ...a, ...common, epochs: 3, schedule, loss: ma.wrap(a.loss), state: ma.state });
    const b = makeSetup();
    const mb = memory();
    const ckpt = path.join(dir, 'state.safetensors');
    await fit({
      ...b,
      ...common,
      epochs: 1,
      schedule,
      checkpoint: ckpt,
      loss: mb.wrap(b.loss),
      state: mb.state,
    });
    b.dispose();
    const c = makeSetup();
    const mc = memory();
    const resumed = await fit({
      ...c,
      ...common,
      epochs: 3,
      schedule,
      checkpoint: ckpt,
      resume: true,
      loss: mc.wrap(c.loss),
      state: mc.state,
    });
    expect(resumed.startEpoch).toBe(1);
    expect(mc.sums).toEqual(ma.sums);
    expect(ma.sums).toHaveLength(3);
    expect(resumed.history.map((r) => r.loss)).toEqual(full.history.map((r) => r.loss));
    // a run that keeps state refuses a checkpoint written without it; a malformed state option is refused up front
    const plain = path.join(dir, 'plain.safetensors');
    const d = makeSetup();
    await fit({ ...d, ...common, epochs: 1, checkpoint: plain });
    await expect(
      fit({ ...d, ...common, epochs: 2, checkpoint: plain, resume: true, state: memory().state }),
    ).rejects.toThrow(/holds no training state/);
    await expect(fit({ ...d, ...common, epochs: 1, state: {} as never })).rejects.toThrow(/options\.state/);
    for (const s of [a, c, d]) s.dispose();
  });

  it('buffers (BatchNorm statistics, counters) are saved and restored; a checkpoint without them is refused', () => {
    const s = makeSetup();
    const running = tf.variable(tf.tensor1d([0.5, -1.5]), false, `running_${Date.now()}`);
    const counters = new Map([['bn.num_batches_tracked', 42]]);
    const bytes = encodeCheckpoint({
      params: s.params,
      buffers: { variables: [running], counters },
      epoch: 1,
      step: 6,
    });
    running.assign(tf.zeros([2]));
    counters.set('bn.num_batches_tracked', 0);
    restoreCheckpoint(decodeCheckpoint(bytes), { params: s.params, buffers: { variables: [running], counters } });
    expect(Array.from(running.dataSync())).toEqual([0.5, -1.5]);
    expect(counters.get('bn.num_batches_tracked')).toBe(42);
    const without = encodeCheckpoint({ params: s.params, epoch: 1, step: 6 });
    expect(() =>
      restoreCheckpoint(decodeCheckpoint(without), { params: s.params, buffers: { variables: [running] } }),
    ).toThrow(/buffers.*none saved/);
    const wrong = tf.variable(tf.zeros([3]), false, `wrong_${Date.now()}`);
    expect(() =>
      restoreCheckpoint(decodeCheckpoint(bytes), { params: s.params, buffers: { variables: [wrong] } }),
    ).toThrow(/buffer 0/);
    tf.dispose([running, wrong]);
    s.dispose();
  });

  it('a checkpoint of a different model, a corrupt or a missing file throw DistilleryErrors naming them', async () => {
    const dir = tmp();
    const s = makeSetup();
    const bytes = encodeCheckpoint({ params: s.params, optimizer: s.optimizer, epoch: 1, step: 6 });
    const other = [tf.variable(tf.zeros([3, 4]), true, `other_${Date.now()}`), s.params[1]!];
    expect(() => restoreCheckpoint(decodeCheckpoint(bytes), { params: other })).toThrow(/param 0/);
    expect(() => restoreCheckpoint(decodeCheckpoint(bytes), { params: [s.params[0]!] })).toThrow(DistilleryError);
    const bad = path.join(dir, 'corrupt.safetensors');
    writeFileSync(bad, bytes.subarray(0, 60));
    await expect(loadCheckpoint(bad)).rejects.toThrow(bad);
    await expect(loadCheckpoint(bad)).rejects.toThrow(/not a readable distillery checkpoint/);
    await expect(loadCheckpoint(path.join(dir, 'missing.safetensors'))).rejects.toThrow(/missing.safetensors/);
    const unrelated = path.join(dir, 'notes.safetensors');
    writeFileSync(unrelated, 'hello world, not a checkpoint');
    await expect(loadCheckpoint(unrelated)).rejects.toThrow(DistilleryError);
    other[0]!.dispose();
    s.dispose();
  });

  it('writes one JSON line per epoch, with evaluation metrics, and validates its options', async () => {
    const dir = tmp();
    const s = makeSetup();
    const log = path.join(dir, 'log.jsonl');
    await fit({ ...s, ...common, epochs: 2, logFile: log, evaluate: (e) => ({ acc: e / 10 }) });
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([0, 1]);
    expect(lines[1].acc).toBe(0.1);
    expect(lines[0].step).toBe(6);
    await expect(fit({ ...s, ...common, epochs: 1, batchSize: 97, dropLast: true })).rejects.toThrow(/batchSize/);
    await expect(fit({ ...s, ...common, epochs: 1, batchSize: 97 })).rejects.toThrow(/batchSize/);
    // step-based schedule: the lr follows the optimizer step, not the epoch
    const lrs: number[] = [];
    await fit({
      ...s,
      ...common,
      epochs: 2,
      schedule: (t) => 0.1 / (t + 1),
      scheduleUnit: 'step',
      onBatchEnd: (info) => {
        lrs.push(info.lr);
      },
    });
    expect(lrs).toEqual(Array.from({ length: 12 }, (_, t) => 0.1 / (t + 1)));
    expect(s.optimizer.lr).toBe(0.1 / 12);
    await expect(fit({ ...s, ...common, epochs: -1 })).rejects.toThrow(/options.epochs/);
    s.dispose();
  });

  it('gradient accumulation over 2 batches of 8 equals one batch of 16', async () => {
    const a = makeSetup();
    const b = makeSetup();
    const base = { seed: 5, progress: 'none' as const, epochs: 2, clipGradNorm: 10 };
    const big = await fit({ ...a, ...base, batchSize: 16 });
    const acc = await fit({ ...b, ...base, batchSize: 8, accumulationSteps: 2 });
    expect(a.optimizer.stepCount).toBe(12);
    expect(b.optimizer.stepCount).toBe(12);
    expect(acc.history[1]!.step).toBe(12);
    a.params.forEach((p, i) => {
      const x = p.dataSync();
      const y = b.params[i]!.dataSync();
      for (let k = 0; k < x.length; k++) expect(Math.abs(x[k]! - y[k]!)).toBeLessThan(1e-5);
    });
    expect(Math.abs(acc.history[1]!.loss - big.history[1]!.loss)).toBeLessThan(1e-4);
    await assertNoTensorLeak(
      () => fit({ ...b, ...base, epochs: 1, batchSize: 8, accumulationSteps: 5 }),
      2,
      'fit (accumulation)',
    );
    await expect(fit({ ...b, ...base, batchSize: 8, accumulationSteps: 2, samRho: 0.05 })).rejects.toThrow(
      /options.accumulationSteps/,
    );
    a.dispose();
    b.dispose();
  });

  it('an epoch (with SAM and clipping) leaks no tensors', async () => {
    const s = makeSetup();
    await assertNoTensorLeak(() => fit({ ...s, ...common, epochs: 1, samRho: 0.05, clipGradNorm: 1 }), 2, 'fit');
    s.dispose();
  });

  it('progress: a bar on a TTY, plain lines otherwise', () => {
    const out: string[] = [];
    const record = { epoch: 0, step: 3, loss: 0.5, lr: 0.1, seconds: 1, acc: 0.9 };
    const bar = new ProgressReporter('auto', 2, { isTTY: true, write: (t: string) => out.push(t) });
    bar.batch(0, 1, 2, 0.7);
    bar.epoch(record);
    expect(out[0]).toMatch(/^\repoch 1\/2 \[#+\.+\] 1\/2/);
    const lines: string[] = [];
    const plain = new ProgressReporter('auto', 2, { isTTY: false, write: (t: string) => lines.push(t) });
    plain.batch(0, 1, 2, 0.7);
    plain.epoch(record);
    expect(lines).toEqual(['epoch 1/2 loss=0.500000 lr=0.1000 time=1.0s acc=0.9\n']);
  });

  it('progress: a loss that throws at step 2 still closes the progress line (done), and leaks nothing', async () => {
    const s = makeSetup();
    const done = vi.spyOn(ProgressReporter.prototype, 'done');
    try {
      // A first run creates the optimizer's state (AdamW's moments), so that the count below sees only leaks.
      await fit({ ...s, ...common, epochs: 1 });
      expect(done).toHaveBeenCalledTimes(1);
      const before = tf.memory().numTensors;
      const loss = (batch: Parameters<typeof s.loss>[0], ctx: Parameters<typeof s.loss>[1]) => {
        if (ctx.step === 2) throw new Error('the loss failed at step 2');
        return s.loss(batch, ctx);
      };
      await expect(fit({ ...s, ...common, epochs: 2, loss })).rejects.toThrow(/at step 2/);
      expect(done).toHaveBeenCalledTimes(2);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      done.mockRestore();
      s.dispose();
    }
  });
});

describe('fit: killed mid-epoch', () => {
  it.runIf(process.env.DISTILLERY_TEST_BACKEND !== 'wasm')(
    'a child killed in epoch 3 resumes from the epoch-2 checkpoint and matches the uninterrupted run',
    async () => {
      const dir = tmp();
      const pkg = path.resolve(__dirname, '../..');
      const root = path.resolve(pkg, '../..');
      const esbuild = await import('esbuild');
      const outDir = path.join(pkg, '.tmp');
      mkdirSync(outDir, { recursive: true });
      const outfile = path.join(outDir, `resume-child-${process.pid}.cjs`);
      await esbuild.build({
        entryPoints: [path.join(pkg, 'test/resume-child.ts')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        outfile,
        logLevel: 'silent',
        ignoreAnnotations: true,
        plugins: [
          {
            name: 'distillery-sources',
            setup(build) {
              build.onResolve({ filter: /^@distillery\// }, (args) => {
                const [, name, sub] = /^@distillery\/([^/]+)(?:\/(.*))?$/.exec(args.path)!;
                return { path: path.join(root, 'packages', name!, 'src', sub ? `${sub}.ts` : 'index.ts') };
              });
            },
          },
        ],
      });
      const ckpt = path.join(dir, 'run.safetensors');
      const log = path.join(dir, 'log.jsonl');
      const child = spawn(process.execPath, [outfile], { env: { ...process.env, CKPT: ckpt, LOG: log } });
      child.on('exit', () => rmSync(outfile, { force: true }));
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          if (String(d).includes('MID-EPOCH')) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
      });
      // The child finished epochs 0 and 1 (checkpoint after epoch 1) and died inside epoch 2.
      const ck = await loadCheckpoint(ckpt);
      expect(ck.meta.epoch).toBe(2);
      const s = makeSetup();
      const resumed = await fit({ ...s, ...common, epochs: 4, checkpoint: ckpt, logFile: log, resume: true });
      const u = makeSetup();
      const full = await fit({ ...u, ...common, epochs: 4 });
      expect(resumed.startEpoch).toBe(2);
      expect(resumed.history.map((r) => r.loss)).toEqual(full.history.map((r) => r.loss));
      const logged = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(logged.map((l) => l.epoch)).toEqual([0, 1, 2, 3]);
      expect(logged.map((l) => l.loss)).toEqual(full.history.map((r) => r.loss));
      s.dispose();
      u.dispose();
    },
  );
});

describe('fit yields to the event loop', () => {
  it('after every step: macrotasks (a Ctrl-C handler, a page) run during an epoch without any file I/O', async () => {
    const s = makeSetup();
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const steps: number[] = [];
    await fit({
      ...s,
      batchSize: 16,
      seed: 1,
      progress: 'none',
      epochs: 1,
      onBatchEnd: () => {
        steps.push(ticks);
      },
    });
    running = false;
    s.dispose();
    // N = 96 samples, batch 16: 6 steps, and the event loop turned between each pair of them
    expect(steps).toHaveLength(6);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!).toBeGreaterThan(steps[i - 1]!);
  });
});
