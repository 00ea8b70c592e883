import { classBalancedSampler } from '@distillery/samplers';
import { measureTensorGrowth, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { TRAIN_LOSSES } from '../src/distill/loss-table';
import { train } from '../src/distill/train';
import { SGD } from '../src/optim/sgd';
import { blobs, changed, snapshot, student } from './distill-setup';

/** A long-tailed copy of the blobs: 12 / 6 / 3 examples of classes 0 / 1 / 2. */
function longTailed() {
  const all = blobs(36);
  const keep: number[] = [];
  const quota = [12, 6, 3];
  const labels = all.labels() as Int32Array;
  for (let i = 0; i < 36; i++) {
    if (quota[labels[i]!]! > 0) {
      quota[labels[i]!]!--;
      keep.push(i);
    }
  }
  return {
    length: keep.length,
    classNames: all.classNames,
    labels: () => Int32Array.from(keep, (i) => labels[i]!),
    batch: (indices: ArrayLike<number>) => all.batch(Array.from(indices, (k) => keep[k]!)),
  };
}

describe('train(): the long-tail losses and samplers', () => {
  const data = longTailed();
  for (const loss of TRAIN_LOSSES) {
    it(`${loss}: finite, the model changes, no tensor growth`, async () => {
      let history: { loss: number }[] = [];
      let moved = false;
      const growth = await measureTensorGrowth(async () => {
        const m = student(2);
        const before = await snapshot(m.trainableVariables());
        let sgd: SGD | undefined;
        ({ history } = await train({
          model: m,
          train: data,
          validation: blobs(9, 5),
          loss,
          sampler: 'class-balanced',
          epochs: 3,
          batchSize: 7,
          progress: 'none',
          ...(loss === 'ldam-drw' ? { drwEpoch: 1 } : {}),
          optimizer: (p) => {
            sgd = new SGD(p, { lr: 0.05, momentum: 0.9 });
            return sgd;
          },
        }));
        moved = changed(before, await snapshot(m.trainableVariables()));
        sgd?.dispose();
        m.dispose();
      }, 1);
      expect(growth.growth).toBe(0);
      expect(moved).toBe(true);
      expect(history).toHaveLength(3);
      for (const h of history) {
        expect(Number.isFinite(h.loss)).toBe(true);
        expect((h as unknown as { valAccuracy: number }).valAccuracy).toBeGreaterThanOrEqual(0);
      }
    });
  }

  it("'class-balanced' is classBalancedSampler(labels, { seed }): the same run as passing that sampler", async () => {
    const run = async (sampler: unknown) => {
      const m = student(3);
      const { history } = await train({
        model: m,
        train: data,
        loss: 'ce',
        sampler: sampler as never,
        epochs: 2,
        batchSize: 7,
        seed: 4,
        progress: 'none',
        optimizer: (p) => new SGD(p, { lr: 0.05 }),
      });
      m.dispose();
      return history.map((h) => h.loss);
    };
    const byName = await run('class-balanced');
    expect(await run(classBalancedSampler(data.labels(), { numClasses: 3, seed: 4 }))).toEqual(byName);
    expect(await run('instance')).not.toEqual(byName);
  });

  it("'ldam-drw' switches the class weights on at drwEpoch (the loss of later epochs changes with it)", async () => {
    const run = async (drwEpoch: number) => {
      const m = student(3);
      const { history } = await train({
        model: m,
        train: data,
        loss: 'ldam-drw',
        drwEpoch,
        epochs: 2,
        batchSize: 7,
        progress: 'none',
        optimizer: (p) => new SGD(p, { lr: 0 }),
      });
      m.dispose();
      return history.map((h) => h.loss);
    };
    const [a0, a1] = await run(1);
    const [b0, b1] = await run(5);
    expect(a0).toBeCloseTo(b0!, 6);
    expect(Math.abs(a1! - b1!)).toBeGreaterThan(1e-4);
  });

  it('a loss function is the whole loss', async () => {
    const m = student(3);
    const shapes: number[][] = [];
    await train({
      model: m,
      train: data,
      epochs: 1,
      batchSize: 7,
      progress: 'none',
      loss: (z, y) => {
        shapes.push([...z.shape, y.shape[0]]);
        return tf.mean(tf.square(z));
      },
    });
    expect(shapes).toEqual([
      [2, 3, 2],
      [7, 3, 7],
      [7, 3, 7],
      [7, 3, 7],
    ]);
    m.dispose();
  });
});
