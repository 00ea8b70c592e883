// Leaks through optimizer.setState / restoreCheckpoint, and the temporary files a killed save leaves behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, restoreCheckpoint, saveCheckpoint } from '../src/loop/checkpoint';
import { fit } from '../src/loop/fit';
import { AdamW } from '../src/optim/adamw';
import { EMA } from '../src/optim/ema';
import { SGD } from '../src/optim/sgd';
import { makeSetup } from './loop-setup';

let uid = 0;
function params() {
  const id = uid++;
  return [
    tf.variable(tf.randomNormal([64, 32]), true, `hyg_w_${id}`),
    tf.variable(tf.zeros([32]), true, `hyg_b_${id}`),
  ];
}

function stepOnce(ps: tf.Variable[], optimizer: { step(g: Record<string, tf.Tensor>): void }) {
  const grads = Object.fromEntries(ps.map((p) => [p.name, tf.onesLike(p)]));
  optimizer.step(grads);
  tf.dispose(Object.values(grads));
}

describe('no tensor growth from restoring state', () => {
  for (const [name, make] of [
    ['AdamW (amsgrad)', (ps: tf.Variable[]) => new AdamW(ps, { lr: 0.1, amsgrad: true })],
    ['SGD (momentum)', (ps: tf.Variable[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 })],
  ] as const) {
    it(`${name}: setState 20 times keeps no tensor`, () => {
      const ps = params();
      const optimizer = make(ps);
      stepOnce(ps, optimizer);
      const state = optimizer.getState();
      const before = tf.memory();
      for (let i = 0; i < 20; i++) optimizer.setState(state);
      const after = tf.memory();
      expect(after.numTensors - before.numTensors).toBe(0);
      expect(after.numBytes - before.numBytes).toBe(0);
      optimizer.dispose();
      tf.dispose(ps);
    });
  }

  it('restoreCheckpoint 20 times (params, AdamW slots, EMA) keeps no tensor', () => {
    const ps = params();
    const optimizer = new AdamW(ps, { lr: 0.1 });
    const ema = new EMA(ps, { decay: 0.9 });
    stepOnce(ps, optimizer);
    ema.update();
    const decoded = decodeCheckpoint(encodeCheckpoint({ params: ps, optimizer, ema, epoch: 1, step: 1 }));
    const before = tf.memory();
    for (let i = 0; i < 20; i++) restoreCheckpoint(decoded, { params: ps, optimizer, ema });
    expect(tf.memory().numTensors - before.numTensors).toBe(0);
    expect(tf.memory().numBytes - before.numBytes).toBe(0);
    optimizer.dispose();
    ema.dispose();
    tf.dispose(ps);
  });

  it('an EMA frees everything it allocated', () => {
    const ps = params();
    const before = tf.memory().numTensors;
    const ema = new EMA(ps);
    ema.update();
    ema.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(ps);
  });
});

describe('temporary files of a killed checkpoint save', () => {
  /** The id of a process that has exited. */
  const deadPid = () => {
    const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
    return child.pid as number;
  };

  it('the next save removes those of dead processes and this process’s older ones, not a live process’s', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ckpt-tmp-'));
    const ckpt = path.join(dir, 'model.safetensors');
    const dead = `model.safetensors.tmp-${deadPid()}-${Date.now() - 60_000}`;
    const ownOld = `model.safetensors.tmp-${process.pid}-1`;
    const live = `model.safetensors.tmp-${process.ppid}-${Date.now()}`;
    const unrelated = 'other.safetensors.tmp-1-1';
    for (const name of [dead, ownOld, live, unrelated]) writeFileSync(path.join(dir, name), 'partial');
    const ps = params();
    await saveCheckpoint(ckpt, { params: ps, epoch: 0, step: 0 });
    const left = readdirSync(dir).sort();
    expect(left).toEqual([live, 'model.safetensors', unrelated].sort());
    tf.dispose(ps);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fit removes them before resuming', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ckpt-tmp-'));
    const ckpt = path.join(dir, 'run.safetensors');
    const s = makeSetup();
    await fit({ ...s, batchSize: 32, epochs: 1, checkpoint: ckpt, progress: 'none' });
    const stale = path.join(dir, `run.safetensors.tmp-${deadPid()}-${Date.now()}`);
    writeFileSync(stale, 'a save killed half-way');
    await fit({ ...s, batchSize: 32, epochs: 1, checkpoint: ckpt, resume: true, progress: 'none' });
    expect(existsSync(stale)).toBe(false);
    s.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('resume and checkpoint headers', () => {
  it('fit({ resume: true }) without a checkpoint path throws instead of training from scratch', async () => {
    const s = makeSetup();
    const before = Array.from(s.params[0]!.dataSync());
    const run = fit({ ...s, batchSize: 32, epochs: 1, resume: true, progress: 'none' });
    await expect(run).rejects.toThrowError(/options\.resume: expected a checkpoint path/);
    await expect(run).rejects.toBeInstanceOf(DistilleryError);
    expect(Array.from(s.params[0]!.dataSync())).toEqual(before);
    s.dispose();
  });

  it('a loss whose read fails (a lost device) stops fit with no tensor left and the model unchanged', async () => {
    const s = makeSetup();
    const before = Array.from(s.params[0]!.dataSync());
    const tensorsBefore = tf.memory().numTensors;
    const loss: typeof s.loss = (batch, ctx) => {
      const value = s.loss(batch, ctx);
      value.data = () => Promise.reject(new Error('device lost'));
      return value;
    };
    await expect(fit({ ...s, loss, batchSize: 32, epochs: 1, progress: 'none' })).rejects.toThrowError(/device lost/);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(Array.from(s.params[0]!.dataSync())).toEqual(before);
    s.dispose();
  });

  it('decodeCheckpoint rejects other versions and mistyped header fields', () => {
    const ps = params();
    const bytes = encodeCheckpoint({ params: ps, epoch: 2, step: 6 });
    const withMeta = (edit: (meta: Record<string, unknown>) => void) => {
      // Rewrite the JSON header of the safetensors file (8-byte length, then the header).
      const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
      const meta = JSON.parse(header.__metadata__.distillery);
      edit(meta);
      header.__metadata__.distillery = JSON.stringify(meta);
      const offsets = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + offsets.length + bytes.length - 8 - n);
      new DataView(out.buffer).setBigUint64(0, BigInt(offsets.length), true);
      out.set(offsets, 8);
      out.set(bytes.subarray(8 + n), 8 + offsets.length);
      return out;
    };
    expect(decodeCheckpoint(withMeta(() => {})).meta.epoch).toBe(2);
    const cases: [(m: Record<string, unknown>) => void, RegExp][] = [
      [(m) => (m.version = 2), /header version\): expected version 1/],
      [(m) => (m.epoch = 'abc'), /header epoch\): expected a non-negative integer, got "abc"/],
      [(m) => (m.epoch = -1), /header epoch\)/],
      [(m) => (m.step = 1.5), /header step\)/],
      [(m) => (m.params = 'none'), /header params\)/],
      [(m) => ((m.params as { shape: number[] }[])[0]!.shape = [3, 3]), /header params\[0\]\)/],
      [(m) => (m.rng = { algorithm: 'mt19937' }), /header rng\)/],
      [(m) => (m.ema = { decay: 2, updates: 1 }), /header ema\.decay\)/],
      [(m) => (m.counters = { 'bn.num_batches_tracked': 'x' }), /header counters\.bn\.num_batches_tracked\)/],
      [(m) => (m.optimizer = { type: 'sgd', step: 1, lr: 'fast', hyper: {}, slotNames: [] }), /optimizer\.lr/],
      [(m) => (m.history = {}), /header history\)/],
    ];
    for (const [edit, message] of cases) {
      expect(() => decodeCheckpoint(withMeta(edit)), String(message)).toThrowError(message);
      expect(() => decodeCheckpoint(withMeta(edit))).toThrowError(DistilleryError);
    }
    tf.dispose(ps);
  });
});
