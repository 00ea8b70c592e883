import { clusterImbalanced, kmeans } from '@distillery/ot';
import { assertNoTensorLeak, createRng, tf } from '@distillery/tensor';
import { expectDistilleryError, expectDistilleryErrorAsync } from '@distillery/test-support';
import { clusteringAccuracy } from '@distillery/train';
import { describe, expect, it } from 'vitest';

/** Imbalanced Gaussian mixture: class c has sizes[c] points around a N(0, sep²) centre, unit noise. */
function gmm(seed: number, sizes: number[], d: number, sep: number) {
  const rng = createRng(seed);
  const centers = sizes.map(() => Array.from({ length: d }, () => rng.normal() * sep));
  const xs: number[] = [];
  const ys: number[] = [];
  sizes.forEach((s, c) => {
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < d; j++) xs.push(centers[c]![j]! + rng.normal());
      ys.push(c);
    }
  });
  return { x: tf.tensor2d(xs, [ys.length, d]), y: ys };
}

describe('kmeans (k-means++ + Lloyd)', () => {
  it('recovers well-separated clusters exactly and is seed-deterministic', () => {
    const { x, y } = gmm(4, [50, 30, 20], 3, 8);
    const a = kmeans(x, { k: 3, seed: 1 });
    const b = kmeans(x, { k: 3, seed: 1 });
    expect(clusteringAccuracy(y, a.assignments).accuracy).toBe(1);
    expect(Array.from(a.assignments)).toEqual(Array.from(b.assignments));
    expect(a.inertia).toBeGreaterThan(0);
    expectDistilleryError(() => kmeans(x, { k: 101 }), 'options.k', 'OUT_OF_RANGE');
    x.dispose();
  });
});

describe('clusterImbalanced quality on an imbalanced Gaussian mixture (imbalance 100, fixed seeds)', () => {
  // sizes 500 … 5 (imbalance ratio 100), 8-D, centres N(0, 2²), unit noise
  const sizes = [500, 200, 80, 30, 10, 5];
  const opts = { numClusters: sizes.length, epochs: 15, batchSize: 190, knn: 10 };

  it('seed 2: SP²OT > P²OT > k-means and > balanced Sinkhorn (Hungarian ACC)', async () => {
    const seed = 2;
    const { x, y } = gmm(seed, sizes, 8, 2);
    const acc = (a: Int32Array) => clusteringAccuracy(y, a).accuracy;
    const km = acc(kmeans(x, { k: sizes.length, seed, nInit: 3 }).assignments);
    const run = async (solver: 'p2ot' | 'sp2ot' | 'sinkhorn') => {
      const r = await clusterImbalanced(x, { ...opts, solver, seed, mmIter: 5 });
      r.prototypes.dispose();
      expect(r.rhos[0]).toBeCloseTo(0.1 + 0.9 * Math.exp(-5), 6);
      return acc(r.assignments);
    };
    const sk = await run('sinkhorn');
    const p2 = await run('p2ot');
    const sp2 = await run('sp2ot');
    console.log(`imbalanced GMM seed 2 ACC: k-means ${km}, sinkhorn ${sk}, p2ot ${p2}, sp2ot ${sp2}`);
    expect(p2).toBeGreaterThan(km + 0.05);
    expect(p2).toBeGreaterThan(sk + 0.05);
    expect(sp2).toBeGreaterThan(p2);
    x.dispose();
  }, 240_000);

  it('seed 3: P²OT > k-means, no tensor leak across runs', async () => {
    const seed = 3;
    const { x, y } = gmm(seed, sizes, 8, 2);
    const km = clusteringAccuracy(y, kmeans(x, { k: sizes.length, seed, nInit: 3 }).assignments).accuracy;
    const epochs: { epoch: number; loss: number; rho: number }[] = [];
    const r = await clusterImbalanced(x, { ...opts, seed, onEpochEnd: (record) => epochs.push(record) });
    const p2 = clusteringAccuracy(y, r.assignments).accuracy;
    // one record per epoch: the mean of that epoch's step losses and its last ρ
    const steps = r.losses.length / opts.epochs;
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: opts.epochs }, (_, i) => i));
    epochs.forEach((e, i) => {
      const own = r.losses.slice(i * steps, (i + 1) * steps);
      expect(e.loss).toBeCloseTo(own.reduce((a, b) => a + b, 0) / steps, 10);
      expect(e.rho).toBe(r.rhos[(i + 1) * steps - 1]);
    });
    console.log(`imbalanced GMM seed 3 ACC: k-means ${km}, p2ot ${p2}`);
    expect(p2).toBeGreaterThan(km + 0.03);
    r.prototypes.dispose();
    const small = tf.slice(x, [0, 0], [60, 8]);
    await assertNoTensorLeak(
      async () =>
        (await clusterImbalanced(small, { numClusters: 3, epochs: 1, batchSize: 20, seed, noise: 0.1 })).prototypes,
      2,
      'clusterImbalanced',
    );
    // heads: trained side by side, the lowest last-epoch mean loss is returned; one head = the run above
    const multi = await clusterImbalanced(small, { numClusters: 3, epochs: 2, batchSize: 20, seed, heads: 3 });
    expect(multi.headLosses).toHaveLength(3);
    expect(new Set(multi.headLosses).size).toBe(3); // independent initialisations
    expect(multi.headLosses[multi.head]).toBe(Math.min(...multi.headLosses));
    const lastEpoch = multi.losses.slice(-3);
    expect(multi.headLosses[multi.head]).toBeCloseTo(lastEpoch.reduce((a, b) => a + b, 0) / 3, 10);
    multi.prototypes.dispose();
    expect(r.head).toBe(0);
    expect(r.headLosses).toHaveLength(1);
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, { numClusters: 3, heads: 0 }),
      'options.heads',
      'OUT_OF_RANGE',
    );
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, { numClusters: 1 }),
      'options.numClusters',
      'OUT_OF_RANGE',
    );
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, { numClusters: 3, onEpochEnd: 'log' as never }),
      'options.onEpochEnd',
      'INVALID_ARGUMENT',
    );
    await expectDistilleryErrorAsync(
      () => clusterImbalanced(x, { numClusters: 3, solver: 'kmeans' as 'p2ot' }),
      'options.solver',
      'INVALID_ARGUMENT',
    );
    tf.dispose([x, small]);
  }, 240_000);
});
