import { clusterImbalanced, kmeans, knnGaussianSimilarity } from '@distillery/ot';
import { longTailedDigitFeatures } from '@distillery/recipes';
import { initBackend } from '@distillery/tensor';
import { clusteringAccuracy } from '@distillery/train';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * P²OT's γ (KL weight on the cluster marginal) for these features, chosen by `select-gamma.mjs` on validation
 * seeds 10–19 (grid 1 … 0.001, best mean ACC 0.767; the official default γ = 1 gives 0.487 there, below k-means'
 * 0.554). The seeds below are not among them.
 */
const GAMMA = 0.01;

/**
 * The quality claim of P²OT / SP²OT on embedded digits: the recipe's features (PCA-16 of the shipped digits),
 * long-tailed at the papers' imbalance ratio of 100 (CIFAR-100-LT IF 100), K = 10, the first three seeds.
 * Same head, loss, schedule and γ for every OT solver; only the pseudo-label solver changes.
 *
 * Measured here (wasm, ACC): seed 0/1/2 — k-means 0.660/0.501/0.602, balanced Sinkhorn 0.410/0.407/0.384,
 * P²OT 0.796/0.719/0.775, SP²OT 0.843/0.728/0.733.
 */
describe('imbalanced clustering of long-tailed digit features (IF 100, seeds 0–2)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const seed of [0, 1, 2]) {
    it(`seed ${seed}: P²OT and SP²OT > k-means and > balanced Sinkhorn (Hungarian ACC)`, async () => {
      const { features, labels } = longTailedDigitFeatures({ imbalanceFactor: 100, seed, maxCount: undefined });
      const acc = (a: Int32Array) => clusteringAccuracy(labels, a, 10).accuracy;
      const km = acc(kmeans(features, { k: 10, nInit: 10, seed }).assignments);
      const common = { numClusters: 10, epochs: 30, batchSize: 128, scale: 10, gamma: GAMMA, seed };
      const run = async (solver: 'sinkhorn' | 'p2ot' | 'sp2ot', extra = {}) => {
        const r = await clusterImbalanced(features, { ...common, solver, ...extra });
        r.prototypes.dispose();
        return acc(r.assignments);
      };
      const sk = await run('sinkhorn');
      const p2 = await run('p2ot');
      const sp2 = await run('sp2ot', { similarity: knnGaussianSimilarity(features, { k: 20 }), mmIter: 10 });
      features.dispose();
      console.log(`digits IF 100 seed ${seed} ACC: k-means ${km}, sinkhorn ${sk}, p2ot ${p2}, sp2ot ${sp2}`);
      expect(p2).toBeGreaterThan(km + 0.05);
      expect(sp2).toBeGreaterThan(km + 0.05);
      expect(p2).toBeGreaterThan(sk + 0.2);
      expect(sp2).toBeGreaterThan(sk + 0.2);
    }, 120_000);
  }
});
