import { readFileSync } from 'node:fs';
import {
  createScpnetGcn,
  ScpnetLabelMemory,
  scpnetClasswiseAcc,
  scpnetGcnClassifier,
  scpnetLabelPrior,
  scpnetLogits,
  scpnetPseudoLabels,
} from '@distillery/pseudo-labels';
import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { expectClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: JSON fixture
type Json = any;
const g = JSON.parse(readFileSync(new URL('./fixtures/scpnet-gcn.json', import.meta.url), 'utf8')) as Json;

describe('SCPNet label GCN vs jameslahm/SCPNet model.py (PyTorch transcription)', () => {
  it('adjacency (gcn_relation), classifier, logits to 1e-5; gradients in W₁, W₂, W₃, E, features to 1e-4', () => {
    const sim = tf.tensor2d(g.similarity, [g.c, g.c]);
    const prior = scpnetLabelPrior(sim, { sparseTopk: g.sparseTopk, reweightP: g.reweightP, temperature: 0.3 });
    expectClose(prior.adjacency.dataSync(), g.adjacency, 1e-5, 1e-7);
    const w = [tf.tensor2d(g.w1, [g.d, g.h]), tf.tensor2d(g.w2, [g.h, g.h]), tf.tensor2d(g.w3, [g.h, g.d])];
    const e = tf.tensor2d(g.embeddings, [g.c, g.d]);
    const f = tf.tensor2d(g.features, [g.n, g.d]);
    const up = tf.tensor2d(g.upstream, [g.n, g.c]);
    const classifier = scpnetGcnClassifier(w, e, prior.adjacency);
    expectClose(classifier.dataSync(), g.classifier, 1e-5, 1e-7);
    const logits = scpnetLogits(f, classifier, { scale: g.scale });
    expectClose(logits.dataSync(), g.logits, 1e-5, 1e-6);
    const loss = (w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor, emb: tf.Tensor, feats: tf.Tensor) =>
      tf.sum(tf.mul(scpnetLogits(feats, scpnetGcnClassifier([w1, w2, w3], emb, prior.adjacency)), up)) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(loss)([...w, e, f]);
    expectClose([value.dataSync()[0]!], [g.loss], 1e-5);
    const expected = [g.gradW1, g.gradW2, g.gradW3, g.gradEmbeddings, g.gradFeatures];
    grads.forEach((gr, i) => {
      expectClose(gr.dataSync(), expected[i], 1e-4, 1e-6);
    });
    tf.dispose([sim, prior.adjacency, prior.relation, ...w, e, f, up, classifier, logits, value, ...grads]);
  });

  it('createScpnetGcn: shapes [D, H], [H, H], [H, D] (H = 2D by default), uniform in ±1/√out, seeded', () => {
    const a = createScpnetGcn(8);
    expect(a.map((v) => v.shape)).toEqual([
      [8, 16],
      [16, 16],
      [16, 8],
    ]);
    for (const v of a) {
      const bound = 1 / Math.sqrt(v.shape[1]!);
      const values = v.dataSync();
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(bound * 0.8);
    }
    const b = createScpnetGcn(8, { hidden: 5, seed: 1 });
    expect(b.map((v) => v.shape)).toEqual([
      [8, 5],
      [5, 5],
      [5, 8],
    ]);
    expect(Array.from(createScpnetGcn(8)[0]!.dataSync())).toEqual(Array.from(a[0]!.dataSync()));
    tf.dispose([...a, ...b]);
  });

  it('the adjacency matters: a label connected to another borrows its embedding; no tensor leak in training', async () => {
    const c = 4;
    const d = 4;
    const e = tf.eye(d).slice([0, 0], [c, d]);
    const w = createScpnetGcn(d, { seed: 2 });
    const eye = tf.eye(c);
    const linked = tf.tensor2d([0.8, 0.2, 0, 0, 0.2, 0.8, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [c, c]);
    const a = scpnetGcnClassifier(w, e, eye).arraySync();
    const b = scpnetGcnClassifier(w, e, linked).arraySync();
    // rows 2 and 3 see the same neighbourhood in both graphs; rows 0 and 1 do not
    expectClose(b[2]!, a[2]!, 1e-6, 1e-7);
    expect(Math.max(...b[0]!.map((v, j) => Math.abs(v - a[0]![j]!)))).toBeGreaterThan(1e-3);
    const x = tf.randomNormal([6, d], 0, 1, 'float32', 3);
    await assertNoTensorLeak(
      () => {
        const grads = tf.variableGrads(() => tf.sum(scpnetLogits(x, scpnetGcnClassifier(w, e, linked))) as tf.Scalar);
        tf.dispose([grads.value, ...Object.values(grads.grads)]);
      },
      3,
      'a GCN gradient step',
    );
    tf.dispose([e, eye, linked, x, ...w]);
  });
});

describe('SCPNet selected_label memory (jameslahm/SCPNet scpnet.py SCPNetTrainer.train)', () => {
  it('every row of the batch is written (ŷ holds the given positive), also where the confidence mask is off', () => {
    const c = 4;
    const memory = new ScpnetLabelMemory(6, c, { hardK: 2 });
    expectClose(memory.refresh(), [0.25, 0.25, 0.25, 0.25], 0);
    // unconfident weak logits: β = 1/C gives τ_c = 0.95·(1/4)/(7/4) ≈ 0.136, all σ < τ except none → mask off
    const weak = tf.fill([2, c], -4);
    const given = tf.tensor2d([1, 0, 0, 0, 0, 0, 1, 0], [2, c]);
    const pl = scpnetPseudoLabels(weak, given, memory.classwiseAcc, { hardK: 2 });
    expect(Array.from(pl.mask.dataSync())).toEqual([0, 0]);
    expect(memory.update([4, 1], pl.labelsHost)).toBe(2);
    expect(Array.from(memory.selected.subarray(4 * c, 5 * c))).toEqual([1, 0, 0, 0]);
    expect(Array.from(memory.selected.subarray(1 * c, 2 * c))).toEqual([0, 0, 1, 0]);
    expect(Array.from(memory.counts())).toEqual([1, 0, 1, 0]);
    // β from the counts, as scpnetClasswiseAcc: max(count/max(max, hard_k·N − Σ), 1/C)
    expectClose(memory.refresh(), scpnetClasswiseAcc([1, 0, 1, 0], { hardK: 2, numTrain: 6 }), 0);
    // a row with no positive at all is not written (select_mask = labels.sum(1) >= 1); the old row stays
    expect(memory.update([4], [0, 0, 0, 0])).toBe(0);
    expect(Array.from(memory.selected.subarray(4 * c, 5 * c))).toEqual([1, 0, 0, 0]);
    // a later write replaces the whole row
    memory.update([4], [0, 1, 1, 0]);
    expect(Array.from(memory.selected.subarray(4 * c, 5 * c))).toEqual([0, 1, 1, 0]);
    tf.dispose([weak, given, pl.labels, pl.mask]);
  });
});
