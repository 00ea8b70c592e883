import { tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/metrics.json';
import {
  accuracy,
  averagePrecision,
  balancedAccuracy,
  cohenKappa,
  confusionMatrix,
  f1Score,
  fewShotAccuracy,
  groupAccuracy,
  meanAveragePrecision,
  perClassAccuracy,
  topKAccuracy,
} from './classification';
import { adjustedRandIndex, clusteringAccuracy, linearSumAssignment, normalizedMutualInfo } from './clustering';

const near = (a: number, b: number) =>
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(1e-10 + 1e-9 * Math.abs(b));

describe('classification metrics vs scikit-learn', () => {
  fixture.cases.forEach((c, k) => {
    it(`case ${k} (N=${c.N}, C=${c.C})`, () => {
      near(accuracy(c.yTrue, c.yPred), c.accuracy);
      near(topKAccuracy(c.scores, c.yTrue, 1), c.top1);
      near(topKAccuracy(c.scores, c.yTrue, 2), c.top2);
      expect(confusionMatrix(c.yTrue, c.yPred, c.C)).toEqual(c.confusion);
      near(balancedAccuracy(c.yTrue, c.yPred, c.C), c.balancedAccuracy);
      for (const [j, v] of perClassAccuracy(c.yTrue, c.yPred, c.C).entries()) near(v, c.recall[j]!);
      near(f1Score(c.yTrue, c.yPred, { average: 'macro' }), c.f1Macro);
      near(f1Score(c.yTrue, c.yPred, { average: 'micro' }), c.f1Micro);
      near(f1Score(c.yTrue, c.yPred, { average: 'weighted' }), c.f1Weighted);
      near(cohenKappa(c.yTrue, c.yPred), c.kappa);
    });
  });

  it('accepts tensors; top-k with a tensor of scores', () => {
    const c = fixture.cases[0]!;
    const s = tf.tensor2d(c.scores);
    const y = tf.tensor1d(c.yTrue, 'int32');
    near(topKAccuracy(s, y, 2), c.top2);
    tf.dispose([s, y]);
  });

  it('group accuracy is the mean per-class recall inside each group', () => {
    const c = fixture.cases[1]!;
    const g = groupAccuracy(c.yTrue, c.yPred, { head: [0, 1, 2], mid: [3, 4, 5, 6], tail: [7, 8, 9] }, c.C);
    near(g.head, (c.recall[0]! + c.recall[1]! + c.recall[2]!) / 3);
    near(g.tail, (c.recall[7]! + c.recall[8]! + c.recall[9]!) / 3);
    expect(() => groupAccuracy(c.yTrue, c.yPred, { head: [10] }, c.C)).toThrow(/groups.head\[0\]/);
  });

  it('multi-label AP / mAP (with tied scores)', () => {
    const m = fixture.multilabel;
    for (const [c, ap] of m.perClassAP.entries())
      near(
        averagePrecision(
          m.targets.map((r) => r[c]!),
          m.scores.map((r) => r[c]!),
        ),
        ap,
      );
    near(meanAveragePrecision(m.targets, m.scores), m.mAP);
  });

  it('few-shot mean and 95% CI', () => {
    const r = fewShotAccuracy(fixture.fewshot.accs);
    near(r.mean, fixture.fewshot.mean);
    near(r.ci95, fixture.fewshot.ci95);
    expect(() => fewShotAccuracy([])).toThrow(/episodeAccuracies/);
  });

  it('handles a million labels (no argument spreading)', () => {
    const n = 1_000_000;
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) y[i] = i % 7;
    expect(accuracy(y, y)).toBe(1);
    expect(confusionMatrix(y, y).length).toBe(7);
  });

  it('errors name the argument', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(/yPred/);
    expect(() => accuracy([], [])).toThrow(/yTrue/);
    expect(() => accuracy([0, -1], [0, 1])).toThrow(/yTrue\[1\]/);
    expect(() => topKAccuracy([[1, 2]], [0], 3)).toThrow(/k/);
  });
});

describe('clustering metrics vs scikit-learn / scipy', () => {
  fixture.cases.forEach((c, k) => {
    it(`case ${k}: Hungarian ACC, mACC, F1, NMI, ARI`, () => {
      const r = clusteringAccuracy(c.yTrue, c.clusters, c.C);
      near(r.accuracy, c.clusterAccuracy);
      near(r.meanClassAccuracy, c.clusterMeanClassAccuracy);
      near(f1Score(c.yTrue, r.remapped, { average: 'macro' }), c.clusterF1Macro);
      near(normalizedMutualInfo(c.yTrue, c.clusters), c.nmi);
      near(adjustedRandIndex(c.yTrue, c.clusters), c.ari);
    });
  });

  it('linearSumAssignment reaches scipy’s optimum on rectangular problems', () => {
    const cost = fixture.assignment.cost;
    const a = linearSumAssignment(cost);
    near(
      a.reduce((s, j, i) => s + cost[i]![j]!, 0),
      fixture.assignment.cost_value,
    );
    expect(new Set(a).size).toBe(a.length);
    const t = cost[0]!.map((_, j) => cost.map((r) => r[j]!));
    const b = linearSumAssignment(t);
    near(
      b.reduce((s, j, i) => (j >= 0 ? s + t[i]![j]! : s), 0),
      fixture.assignment.costT_value,
    );
    expect(b.filter((j) => j >= 0).length).toBe(4);
  });

  fixture.degenerate.forEach((c) => {
    it(`degenerate partitions ${JSON.stringify(c.yTrue)} vs ${JSON.stringify(c.yPred)}: ARI and NMI as sklearn`, () => {
      near(adjustedRandIndex(c.yTrue, c.yPred), c.ari);
      near(normalizedMutualInfo(c.yTrue, c.yPred), c.nmi);
    });
  });

  it('perfect clustering up to relabelling gives 1', () => {
    const y = [0, 0, 1, 1, 2, 2];
    const p = [2, 2, 0, 0, 1, 1];
    expect(clusteringAccuracy(y, p).accuracy).toBe(1);
    near(normalizedMutualInfo(y, p), 1);
    near(adjustedRandIndex(y, p), 1);
  });
});

describe('metrics refuse what a diverged model or a corrupt label gives them', () => {
  it('non-finite scores throw (a NaN ranking is not a perfect score)', () => {
    const nan = [
      [Number.NaN, Number.NaN],
      [Number.NaN, Number.NaN],
    ];
    expect(() => topKAccuracy(nan, [0, 1], 1)).toThrowError(/scores\[0\]\[0\]: expected a finite score, got NaN/);
    expect(() => topKAccuracy(tf.tensor2d([[1, Number.POSITIVE_INFINITY]]), [0], 1)).toThrowError(/scores\[0\]\[1\]/);
    expect(() => averagePrecision([1, 0, 1], [Number.NaN, Number.NaN, Number.NaN])).toThrowError(/scores\[0\]/);
    expect(() => averagePrecision([1, 0], [0.5, Number.NEGATIVE_INFINITY])).toThrowError(/scores\[1\]/);
    expect(() =>
      meanAveragePrecision(
        [
          [1, 0],
          [0, 1],
        ],
        nan,
      ),
    ).toThrowError(/scores\[0\]\[0\]/);
  });

  it('a huge label throws at once instead of allocating a huge matrix', () => {
    const started = Date.now();
    expect(() => confusionMatrix([0, 1, 2 ** 31], [0, 1, 2])).toThrowError(/yTrue\[2\]: expected a label < 10000/);
    expect(() => perClassAccuracy([0, 1], [0, 4e9])).toThrowError(/yPred\[1\]/);
    expect(() => cohenKappa([0, 1e9], [0, 1])).toThrowError(/yTrue\[1\]/);
    expect(() => clusteringAccuracy([0, 1], [0, 1e8])).toThrowError(/yPred\[1\]/);
    expect(() => confusionMatrix([0, 5], [0, 1], 3)).toThrowError(/yTrue\[1\]: expected a label < numClasses = 3/);
    expect(() => confusionMatrix([0], [0], 1e6)).toThrowError(/numClasses/);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
