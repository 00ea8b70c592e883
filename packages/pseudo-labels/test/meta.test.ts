import { readFileSync } from 'node:fs';
import {
  adaptivePicking,
  createMlp,
  gaussJordanSolve,
  gpAdapt,
  innerStep,
  labelPropagation,
  type MlpParams,
  metaCrossEntropy,
  mlpForward,
} from '@distillery/pseudo-labels';
import { assertNoTensorLeak, createRng, tf } from '@distillery/tensor';
import { expectClose, expectDistilleryError } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: JSON fixture
type Json = any;
const fx = JSON.parse(readFileSync(new URL('./fixtures/label-propagation.json', import.meta.url), 'utf8')) as Json;

describe('label propagation and adaptive picking vs branpent/gp-maml (PyTorch transcription)', () => {
  for (const [i, c] of (fx.cases as Json[]).entries()) {
    it(`case ${i} (${c.selfLoops ? 'self-loops, the default' : 'selfLoops: false'}): F = (I − αS)⁻¹Y to 1e-5, picks exact (minLen ${c.minLen})`, () => {
      const emb = tf.tensor2d(c.embeddings, [c.m, c.d]);
      // the official behaviour (self-loops) is the default: those cases pass no selfLoops option
      const F = labelPropagation(emb, c.supportLabels, c.ways, {
        k: c.k,
        alpha: c.alpha,
        sigma: c.sigma,
        ...(c.selfLoops ? {} : { selfLoops: false }),
      });
      emb.dispose();
      expectClose(F, c.F, 1e-5, 1e-9);
      const ns = c.supportLabels.length;
      const pick = adaptivePicking(F.slice(ns * c.ways), c.ways, { picNum: c.picNum });
      expect(pick.minLen).toBe(c.minLen);
      expect(Array.from(pick.indices)).toEqual(c.pickIndices);
      expect(Array.from(pick.labels)).toEqual(c.pickLabels);
    });
  }

  it("sigma 'auto' is one σ² = median pair distance / 4: equal to passing it, and invariant to the embedding scale", () => {
    const c = fx.cases[0] as Json;
    const e: number[] = c.embeddings.flat ? c.embeddings.flat() : c.embeddings;
    const distances: number[] = [];
    for (let i = 0; i < c.m; i++)
      for (let j = i + 1; j < c.m; j++) {
        let s = 0;
        for (let t = 0; t < c.d; t++) s += (e[i * c.d + t]! - e[j * c.d + t]!) ** 2;
        distances.push(s / c.d);
      }
    distances.sort((a, b) => a - b);
    const h = distances.length >> 1;
    const median = distances.length % 2 ? distances[h]! : (distances[h - 1]! + distances[h]!) / 2;
    const opts = { k: c.k, alpha: c.alpha };
    const emb = tf.tensor2d(e, [c.m, c.d]);
    const scaled = tf.mul(emb, 7.5);
    const auto = labelPropagation(emb, c.supportLabels, c.ways, { ...opts, sigma: 'auto' });
    expectClose(
      auto,
      labelPropagation(emb, c.supportLabels, c.ways, { ...opts, sigma: Math.sqrt(median / 4) }),
      1e-12,
      0,
    );
    // float32 rounding of the scaled embeddings: ~1e-7 relative
    expectClose(labelPropagation(scaled, c.supportLabels, c.ways, { ...opts, sigma: 'auto' }), auto, 1e-5, 1e-9);
    // with the fixed default σ = 1 the scale matters
    const fixed = labelPropagation(scaled, c.supportLabels, c.ways, opts);
    expect(Math.max(...fixed.map((v, i) => Math.abs(v - auto[i]!)))).toBeGreaterThan(1e-3);
    expectDistilleryError(
      () => labelPropagation(emb, c.supportLabels, c.ways, { sigma: 'median' as never }),
      'options.sigma',
      'INVALID_ARGUMENT',
    );
    tf.dispose([emb, scaled]);
  });

  it('gaussJordanSolve solves a random system (pivoting needed: zero leading entry)', () => {
    const A = Float64Array.from([0, 2, 1, 1, 1, 1, 2, 1, 3]);
    const x = [1, -2, 3];
    const b = Float64Array.from([0 * 1 + 2 * -2 + 1 * 3, 1 - 2 + 3, 2 - 2 + 9]);
    gaussJordanSolve(A, b, 3, 1);
    expectClose(b, x, 1e-12, 1e-12);
  });
});

function episode(
  rng: ReturnType<typeof createRng>,
  ways: number,
  shots: number,
  queries: number,
  d: number,
  sep: number,
) {
  const centers = Array.from({ length: ways }, () => Array.from({ length: d }, () => rng.normal() * sep));
  const sample = (c: number) => centers[c]!.map((m) => m + rng.normal());
  const sx: number[][] = [];
  const sy: number[] = [];
  const qx: number[][] = [];
  const qy: number[] = [];
  for (let s = 0; s < shots; s++) {
    for (let c = 0; c < ways; c++) {
      sx.push(sample(c));
      sy.push(c);
    }
  }
  for (let q = 0; q < queries; q++) {
    for (let c = 0; c < ways; c++) {
      qx.push(sample(c));
      qy.push(c);
    }
  }
  return { sx: tf.tensor2d(sx), sy, qx: tf.tensor2d(qx), qy };
}

describe('GP-MAML / ANIL / BOIL inner loops', () => {
  it('ANIL adapts the head only, BOIL the body only, MAML both', () => {
    const net = createMlp(4, [6], 3, 2) as MlpParams;
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 1);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const same = (a: tf.Tensor[], b: tf.Tensor[]) => a.every((t, i) => t === b[i]);
    const anil = innerStep(net, x, y, { algorithm: 'anil' });
    const boil = innerStep(net, x, y, { algorithm: 'boil' });
    const maml = innerStep(net, x, y);
    expect(same(anil.body, net.body) && !same(anil.head, net.head)).toBe(true);
    expect(!same(boil.body, net.body) && same(boil.head, net.head)).toBe(true);
    expect(!same(maml.body, net.body) && !same(maml.head, net.head)).toBe(true);
    // θ' = θ − 0.5·∇: the adapted support loss is lower
    const ce = (p: MlpParams) =>
      tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), mlpForward(p, x)).dataSync()[0]!);
    expect(ce(maml)).toBeLessThan(ce(net));
    expectDistilleryError(() => innerStep(net, x, y, { algorithm: 'reptile' as 'maml' }), 'options.algorithm');
    tf.dispose([x, y, ...anil.head, ...boil.body, ...maml.body, ...maml.head]);
  });

  it('second-order meta-gradient matches finite differences; first-order differs', () => {
    const net = createMlp(3, [4], 2, 5);
    const vars = [...net.body, ...net.head];
    const xs = tf.tensor2d([0.5, -1, 2, 1, 0.3, -0.7, -1, 1, 0.2, 0.4, 0.4, -1.2], [4, 3]);
    const ys = tf.tensor1d([0, 1, 1, 0], 'int32');
    const xq = tf.tensor2d([1, 1, -1, -0.5, 0.2, 0.9], [2, 3]);
    const yq = tf.tensor1d([1, 0], 'int32');
    const outer = (firstOrder: boolean) => () =>
      tf.tidy(() => {
        const p = innerStep(net as MlpParams, xs, ys, { firstOrder });
        return metaCrossEntropy(mlpForward(p, xq), yq, 2);
      });
    const g2 = tf.variableGrads(outer(false), vars);
    const g1 = tf.variableGrads(outer(true), vars);
    // finite differences (central, h = 1e-2 in float32) on every entry of the head weight
    const w = net.head[0]!;
    const base = w.arraySync() as number[][];
    const lossAt = (r: number, c: number, delta: number) => {
      const copy = base.map((row) => row.slice());
      copy[r]![c]! += delta;
      w.assign(tf.tensor2d(copy));
      const v = outer(false)();
      const out = v.dataSync()[0]!;
      v.dispose();
      return out;
    };
    const h = 1e-2;
    const g2w = g2.grads[w.name]!.arraySync() as number[][];
    const g1w = g1.grads[w.name]!.arraySync() as number[][];
    let maxErr2 = 0;
    let maxErr1 = 0;
    for (let r = 0; r < base.length; r++) {
      for (let c = 0; c < base[0]!.length; c++) {
        const fd = (lossAt(r, c, h) - lossAt(r, c, -h)) / (2 * h);
        maxErr2 = Math.max(maxErr2, Math.abs(g2w[r]![c]! - fd));
        maxErr1 = Math.max(maxErr1, Math.abs(g1w[r]![c]! - fd));
      }
    }
    w.assign(tf.tensor2d(base));
    // second order matches the finite differences; first order (which drops ∂∇L_in/∂θ) does not
    expect(maxErr2).toBeLessThan(2e-3);
    expect(maxErr1).toBeGreaterThan(10 * maxErr2);
    tf.dispose([xs, ys, xq, yq, g1.value, g2.value, ...Object.values(g1.grads), ...Object.values(g2.grads), ...vars]);
  });

  it('an episode with a class missing from the support set throws; no leaks over 100 adaptations', async () => {
    const net = createMlp(4, [8], 3, 1) as MlpParams;
    const sx = tf.randomNormal([3, 4], 0, 1, 'float32', 3);
    const qx = tf.randomNormal([9, 4], 0, 1, 'float32', 4);
    expectDistilleryError(() => gpAdapt(net, sx, [0, 1, 1], qx), 'supportY', 'INVALID_ARGUMENT');
    expectDistilleryError(() => gpAdapt(net, sx, [0, 1], qx), 'supportY', 'SHAPE_MISMATCH');
    await assertNoTensorLeak(
      () => {
        const r = gpAdapt(net, sx, [0, 1, 2], qx, { k: 3 });
        tf.dispose([r.queryLogits, r.baselineLogits]);
      },
      100,
      'gpAdapt',
    );
    tf.dispose([sx, qx, ...net.body, ...net.head]);
  });
});

describe('few-shot quality: GP-MAML beats MAML on procedural 5-way 1-shot episodes (same seeds)', () => {
  it('meta-train 30 iterations × 4 tasks each, evaluate 60 episodes', () => {
    const [ways, shots, queries, d, sep] = [5, 1, 15, 8, 2];
    const evaluate = (method: 'maml' | 'gp') => {
      const net = createMlp(d, [32], ways, 1);
      const vars = [...net.body, ...net.head];
      const opt = tf.train.adam(0.005);
      const rng = createRng(7);
      for (let it = 0; it < 30; it++) {
        const eps = Array.from({ length: 4 }, () => episode(rng, ways, shots, queries, d, sep));
        const loss = opt.minimize(
          () =>
            tf.tidy(() => {
              let total: tf.Tensor = tf.scalar(0);
              for (const e of eps) {
                const r = gpAdapt(net as MlpParams, e.sx, e.sy, e.qx, { k: 10 });
                const logits = method === 'gp' ? r.queryLogits : r.baselineLogits;
                total = tf.add(
                  total,
                  tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(e.qy, 'int32'), ways), logits),
                );
              }
              return tf.div(total, eps.length) as tf.Scalar;
            }),
          true,
          vars,
        );
        tf.dispose([loss!, ...eps.flatMap((e) => [e.sx, e.qx])]);
      }
      opt.dispose();
      const test = createRng(99);
      let hits = 0;
      let total = 0;
      for (let t = 0; t < 60; t++) {
        const e = episode(test, ways, shots, queries, d, sep);
        const r = gpAdapt(net as MlpParams, e.sx, e.sy, e.qx, { k: 10 });
        const pred = tf.tidy(() => tf.argMax(method === 'gp' ? r.queryLogits : r.baselineLogits, 1).dataSync());
        e.qy.forEach((y, i) => {
          if (pred[i] === y) hits++;
          total++;
        });
        tf.dispose([e.sx, e.qx, r.queryLogits, r.baselineLogits]);
      }
      tf.dispose(vars);
      return hits / total;
    };
    const maml = evaluate('maml');
    const gp = evaluate('gp');
    console.log(`5-way 1-shot query accuracy: MAML ${maml.toFixed(3)}, GP-MAML ${gp.toFixed(3)}`);
    expect(gp).toBeGreaterThan(maml + 0.02);
  });
});
