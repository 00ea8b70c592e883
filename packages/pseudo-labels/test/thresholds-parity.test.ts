import { readFileSync } from 'node:fs';
import {
  confidencePseudoLabels,
  FlexMatchThresholds,
  maskedConsistencyLoss,
  scpnetClasswiseAcc,
  scpnetConsistencyLoss,
  scpnetLabelPrior,
  scpnetPriorTargets,
  scpnetPseudoLabels,
} from '@distillery/pseudo-labels';
import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { expectClose, expectDistilleryError } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: JSON fixture
type Json = any;
const fx = JSON.parse(readFileSync(new URL('./fixtures/thresholds.json', import.meta.url), 'utf8')) as Json;

describe('FixMatch confidence pseudo-labels vs PyTorch', () => {
  const f = fx.fixmatch;
  it('labels, mask, masked CE normalised by N and its gradient', () => {
    const weak = tf.tensor2d(f.weak, [f.n, f.c]);
    const strong = tf.tensor2d(f.strong, [f.n, f.c]);
    const pl = confidencePseudoLabels(weak, { threshold: f.threshold });
    expect(Array.from(pl.labels.dataSync())).toEqual(f.labels);
    expect(Array.from(pl.mask.dataSync())).toEqual(f.mask);
    const loss = maskedConsistencyLoss(strong, pl.labels, pl.mask);
    expect(loss.dataSync()[0]).toBeCloseTo(f.loss, 5);
    expectClose([loss.dataSync()[0]!], [f.loss], 1e-5);
    const g = tf.grad((z: tf.Tensor) => maskedConsistencyLoss(z, pl.labels, pl.mask))(strong);
    expectClose(g.dataSync(), f.grad, 1e-4, 1e-7);
    tf.dispose([weak, strong, pl.labels, pl.mask, loss, g]);
  });
});

describe('FlexMatch class-wise thresholds vs PyTorch', () => {
  const f = fx.flexmatch;
  it('β (warm-up form), τ_c, mask with τ_ŷ, memory update', () => {
    const flex = new FlexMatchThresholds(f.numUnlabeled, fx.fixmatch.c);
    flex.selected.set(f.selected);
    const weak = tf.tensor2d(fx.fixmatch.weak, [fx.fixmatch.n, fx.fixmatch.c]);
    const pl = flex.step(weak, f.indices);
    expectClose(flex.classwiseAcc, f.beta, 1e-6);
    expectClose(flex.thresholds(), f.thresholds, 1e-6);
    expect(Array.from(pl.mask.dataSync())).toEqual(f.mask);
    expect(Array.from(flex.selected)).toEqual(f.selectedAfter);
    tf.dispose([weak, pl.labels, pl.mask]);
  });

  it('starts at τ_c = 0 (β = 0 until a sample is selected) and never divides by zero', () => {
    const flex = new FlexMatchThresholds(4, 3);
    expect(Array.from(flex.refresh())).toEqual([0, 0, 0]);
    const weak = tf.tensor2d([9, 0, 0, 0, 0.1, 0], [2, 3]);
    const pl = flex.step(weak, [0, 1]);
    expect(Array.from(pl.mask.dataSync())).toEqual([1, 1]);
    expect(Array.from(flex.selected)).toEqual([0, -1, -1, -1]);
    // σ = [1, 0, 0], unused 3 → β = [1/3, 0, 0]
    expectClose(flex.refresh(), [1 / 3, 0, 0], 1e-12);
    tf.dispose([weak, pl.labels, pl.mask]);
  });
});

describe('SCPNet structured prior vs PyTorch', () => {
  const s = fx.scpnet;
  it('label prior: sparse top-k, re-weighted adjacency, row-softmax relation', () => {
    const R = tf.tensor2d(s.similarity, [s.c, s.c]);
    const prior = scpnetLabelPrior(R, { sparseTopk: s.sparseTopk, reweightP: s.reweightP, temperature: s.temperature });
    expectClose(prior.adjacency.dataSync(), s.adjacency, 1e-5, 1e-7);
    expectClose(prior.relation.dataSync(), s.relation, 1e-5, 1e-7);
    tf.dispose([R, prior.adjacency, prior.relation]);
  });

  it('class-wise acc from the selected_label counts', () => {
    expectClose(scpnetClasswiseAcc(s.counts, { hardK: s.hardK, numTrain: s.numTrain }), s.classwiseAcc, 1e-6);
    expect(Array.from(scpnetClasswiseAcc([0, 0, 0, 0], { hardK: 1, numTrain: 5 }))).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(Array.from(scpnetClasswiseAcc([0, 0], { hardK: 1, numTrain: 5, previous: [0.7, 0.2] }))).toEqual([0.7, 0.2]);
  });

  it('prior-enhanced pseudo-labels, prior targets, consistency loss and its gradient', () => {
    const weak = tf.tensor2d(s.weak, [s.n, s.c]);
    const strong = tf.tensor2d(s.strong, [s.n, s.c]);
    const given = tf.tensor2d(s.given, [s.n, s.c]);
    const relation = tf.tensor2d(s.relation, [s.c, s.c]);
    const pl = scpnetPseudoLabels(weak, given, s.classwiseAcc, { hardK: s.hardK });
    expect(Array.from(pl.labels.dataSync())).toEqual(s.labels);
    expect(Array.from(pl.mask.dataSync())).toEqual(s.mask);
    const targets = scpnetPriorTargets(weak, relation);
    expectClose(targets.dataSync(), s.targets, 1e-5, 1e-7);
    const f = (z: tf.Tensor) => scpnetConsistencyLoss(z, pl.labels, pl.mask, targets, { klLambda: s.klLambda });
    const loss = f(strong);
    expectClose(loss.dataSync(), [s.loss], 1e-5);
    const g = tf.grad(f)(strong);
    expectClose(g.dataSync(), s.grad, 1e-4, 1e-6);
    tf.dispose([weak, strong, given, relation, pl.labels, pl.mask, targets, loss, g]);
  });
});

describe('errors and leaks', () => {
  it('bad input throws DistilleryError naming the argument', () => {
    const z = tf.tensor2d([1, 2, Number.NaN, 0], [2, 2]);
    expectDistilleryError(() => confidencePseudoLabels(z), 'weakLogits', 'NON_FINITE');
    const ok = tf.tensor2d([1, 2, 3, 0], [2, 2]);
    expectDistilleryError(() => confidencePseudoLabels(ok, { threshold: 1.5 }), 'options.threshold', 'OUT_OF_RANGE');
    expectDistilleryError(() => confidencePseudoLabels(ok, { classThresholds: [0.5] }), 'options.classThresholds');
    expectDistilleryError(() => maskedConsistencyLoss(ok, tf.tensor1d([0, 1, 1], 'int32'), tf.ones([2])), 'labels');
    expectDistilleryError(() => new FlexMatchThresholds(3, 2).step(ok, [0, 7]), 'indices', 'OUT_OF_RANGE');
    expectDistilleryError(() => scpnetLabelPrior(tf.ones([3, 4]), { sparseTopk: 2, temperature: 0.2 }), 'similarity');
    expectDistilleryError(() => scpnetLabelPrior(tf.eye(3), { sparseTopk: 2, temperature: 0.2 }), 'similarity');
    expectDistilleryError(
      () => scpnetLabelPrior(tf.ones([3, 3]), { sparseTopk: 5, temperature: 0.2 }),
      'options.sparseTopk',
    );
    expectDistilleryError(() => scpnetPseudoLabels(ok, tf.zeros([2, 3]), [0.5, 0.5], { hardK: 1 }), 'givenLabels');
    expectDistilleryError(() => scpnetPseudoLabels(ok, tf.zeros([2, 2]), [0.5, 0.5], { hardK: 3 }), 'options.hardK');
    expectDistilleryError(() => scpnetClasswiseAcc([1, 2], { hardK: 0, numTrain: 3 }), 'options.hardK');
    tf.dispose([z, ok]);
  });

  it('100 training steps leak no tensors', async () => {
    const s = fx.scpnet;
    const weak = tf.tensor2d(s.weak, [s.n, s.c]);
    const strong = tf.tensor2d(s.strong, [s.n, s.c]);
    const given = tf.tensor2d(s.given, [s.n, s.c]);
    const relation = tf.tensor2d(s.relation, [s.c, s.c]);
    const flex = new FlexMatchThresholds(20, s.c);
    await assertNoTensorLeak(
      () => {
        const pl = scpnetPseudoLabels(weak, given, s.classwiseAcc, { hardK: s.hardK });
        const targets = scpnetPriorTargets(weak, relation);
        const g = tf.grad((z: tf.Tensor) => scpnetConsistencyLoss(z, pl.labels, pl.mask, targets, { klLambda: 1 }))(
          strong,
        );
        const fl = flex.step(
          weak,
          Array.from({ length: s.n }, (_, i) => i),
        );
        const g2 = tf.grad((z: tf.Tensor) => maskedConsistencyLoss(z, fl.labels, fl.mask))(strong);
        tf.dispose([pl.labels, pl.mask, targets, g, fl.labels, fl.mask, g2]);
      },
      100,
      'pseudo-label step',
    );
    tf.dispose([weak, strong, given, relation]);
  });
});
