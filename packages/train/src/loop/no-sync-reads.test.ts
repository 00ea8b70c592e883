// WebGPU in browsers cannot read a GPU tensor synchronously (tfjs copies it through a canvas, which headless or
// software-composited Chromium cannot do): the training loop must only read with `await tensor.data()`. These tests
// make every synchronous read (Tensor.dataSync / arraySync / bufferSync all go through engine.readSync) throw and
// run fit with each feature that reads something (loss, SAM, clipping, accumulation, EMA, checkpoints), plus the
// async prediction path, then check the numbers equal a run with synchronous reads allowed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '@distillery/tensor';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { makeSetup } from '../../test/loop-setup';
import { cosineAnnealingLR } from '../schedules/schedules';
import { decodeCheckpoint, encodeCheckpoint, encodeCheckpointAsync, loadCheckpoint } from './checkpoint';
import { type FitOptions, fit } from './fit';
import { predictClasses, predictClassesAsync } from './predict';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Makes every synchronous tensor read throw, naming the caller; returns the spy (its calls are the attempts). */
function forbidSyncReads() {
  return vi.spyOn(tf.engine(), 'readSync').mockImplementation(() => {
    throw new Error('synchronous tensor read in the training path');
  });
}

type Setup = ReturnType<typeof makeSetup>;
const variants: [string, (s: Setup) => Partial<FitOptions<{ x: tf.Tensor2D; y: tf.Tensor }>>][] = [
  ['plain, with EMA', () => ({})],
  ['clipGradNorm', () => ({ clipGradNorm: 0.5 })],
  ['SAM with clipping', () => ({ samRho: 0.05, clipGradNorm: 0.5 })],
  ['gradient accumulation', () => ({ accumulationSteps: 2, clipGradNorm: 0.5 })],
];

describe('fit never reads a tensor synchronously', () => {
  for (const [name, extra] of variants) {
    it(`${name}: same losses and weights as with synchronous reads allowed`, async () => {
      const run = async (forbid: boolean) => {
        const s = makeSetup();
        const dir = mkdtempSync(path.join(tmpdir(), 'distillery-nosync-'));
        dirs.push(dir);
        const spy = forbid ? forbidSyncReads() : null;
        const batchLosses: number[] = [];
        const { history } = await fit({
          ...s,
          ...extra(s),
          batchSize: 16,
          seed: 5,
          progress: 'none',
          epochs: 2,
          schedule: cosineAnnealingLR(0.05, { tMax: 2 }),
          checkpoint: path.join(dir, 'run.safetensors'),
          onBatchEnd: ({ loss }) => {
            batchLosses.push(loss);
          },
        });
        if (spy) {
          expect(spy).not.toHaveBeenCalled();
          spy.mockRestore();
        }
        const weights = s.params.map((p) => Array.from(p.dataSync()));
        const ckpt = await loadCheckpoint(path.join(dir, 'run.safetensors'));
        s.dispose();
        return { losses: history.map((r) => r.loss), batchLosses, weights, ckpt };
      };
      const allowed = await run(false);
      const forbidden = await run(true);
      expect(forbidden.batchLosses.every(Number.isFinite)).toBe(true);
      expect(forbidden.batchLosses.some((l) => l !== 0)).toBe(true);
      expect(forbidden.losses).toEqual(allowed.losses);
      expect(forbidden.weights).toEqual(allowed.weights);
      expect(forbidden.ckpt.meta.epoch).toBe(2);
      expect(forbidden.ckpt.tensors).toEqual(allowed.ckpt.tensors);
    });
  }

  it('the synchronous entry points do read synchronously (so the spy above would catch them)', async () => {
    const s = makeSetup();
    forbidSyncReads();
    expect(() => encodeCheckpoint({ params: s.params, optimizer: s.optimizer, epoch: 0, step: 0 })).toThrow(
      /synchronous tensor read/,
    );
    vi.restoreAllMocks();
    s.dispose();
  });

  it('encodeCheckpointAsync and predictClassesAsync equal their synchronous forms without a synchronous read', async () => {
    const s = makeSetup();
    await fit({ ...s, batchSize: 16, seed: 5, progress: 'none', epochs: 1 });
    const parts = { params: s.params, optimizer: s.optimizer, ema: s.ema, epoch: 1, step: 6 };
    const sync = decodeCheckpoint(encodeCheckpoint(parts));
    const dataset = {
      length: 40,
      batch: (indices: ArrayLike<number>) => {
        const b = s.data.batch(Int32Array.from(indices));
        return { images: b.x, labels: b.y };
      },
    };
    const forward = (x: tf.Tensor) => tf.add(tf.matMul(x, s.params[0]!), s.params[1]!);
    const predictedSync = predictClasses(dataset, forward, { batchSize: 16 });
    const spy = forbidSyncReads();
    const async = decodeCheckpoint(await encodeCheckpointAsync(parts));
    const predicted = await predictClassesAsync(dataset, forward, { batchSize: 16 });
    expect(spy).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    expect(async).toEqual(sync);
    expect(predicted).toEqual(predictedSync);
    s.dispose();
  });
});
