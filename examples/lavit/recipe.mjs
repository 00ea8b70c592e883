/**
 * LaViT at small scale (Zhang, Liu, Lin, He — "You Only Need Less Attention at Each Stage in Vision Transformers",
 * CVPR 2024, arXiv 2406.00427; no official code) on the UCI digits.
 *
 * Three models of the same depth and width, trained the same way:
 *   1. a plain ViT (every layer computes softmax(QKᵀ/√d));
 *   2. LaViT: the first `va` layers are Vanilla-Attention (VA) layers, the remaining ones Less-Attention (LA) layers
 *      that re-use the previous map through learnable N×N maps, A^l = Ψ(Θ(A^{l−1})ᵀ)ᵀ, and skip the Q/K projections;
 *      trained with CE + λ·Σ_l L_DP(softmax(A^l)) (`diagonalityPreservingLoss`);
 *   3. the same LaViT with CE only (an ablation of the DP loss).
 * Reported: test accuracy, the attention FLOPs per image of VA and LA layers counted analytically, and the measured
 * forward time of a test batch.
 *
 * Runs in Node and in browsers (no Node APIs here: files go through the runner's context).
 */
import { loadDigits, stratifiedSplit } from '@distillery/data';
import { instanceBalancedSampler } from '@distillery/samplers';
import { createRng, DistilleryError, tf } from '@distillery/tensor';
import {
  AdamW,
  accuracy,
  confusionMatrix,
  fit,
  perClassAccuracy,
  predictClassesAsync,
  warmupCosineLR,
} from '@distillery/train';
import { diagonalityPreservingLoss, LaViT, VisionTransformer } from '@distillery/vit';

const NUM_CLASSES = 10;

/** The sizes of a run: full (the README's numbers) or smoke (seconds, for tests). */
function settings(ctx) {
  const smoke = ctx.smoke;
  const depth = smoke ? 2 : 4;
  const va = smoke ? 1 : 2;
  return {
    epochs: ctx.epochs ?? (smoke ? 1 : 25),
    testPerClass: smoke ? 10 : 50,
    trainLimit: smoke ? 200 : Number.POSITIVE_INFINITY,
    batchSize: smoke ? 50 : 32,
    imageSize: 8,
    patchSize: 2,
    dim: smoke ? 16 : 64,
    heads: smoke ? 2 : 4,
    depth,
    va,
    la: depth - va,
    /** Weight of the Diagonality Preserving loss (summed over the LA maps). */
    dpWeight: 0.01,
    timingReps: smoke ? 2 : 10,
  };
}

/** A stratified split: `perClass` test images per class, the rest for training. */
function splitDigits(seed, perClass, trainLimit) {
  const digits = loadDigits();
  const rng = createRng(seed);
  const { test, trainIndices } = stratifiedSplit(digits, { testPerClass: perClass, rng });
  const train = rng.shuffle(Array.from(trainIndices));
  return { test, train: digits.subset(train.slice(0, Math.min(train.length, trainLimit))) };
}

/**
 * Attention FLOPs of one layer for one image (a multiply-add = 2 FLOPs), N tokens, width D, H heads:
 *   VA: Q and K projections 2·N·D·2D, the map QKᵀ 2·N²·D, softmax·V 2·N²·D;
 *   LA: no Q/K, the map Ψᵀ·A^{l−1}·Θ = two [H·N, N]×[N, N] products, 4·H·N³, then softmax(A^l)·V 2·N²·D.
 * The V and output projections (2·N·D² each) are the same in both layer kinds and left out.
 */
function attentionFlops(kind, n, d, h) {
  const qk = kind === 'va' ? 2 * n * d * 2 * d : 0;
  const map = kind === 'va' ? 2 * n * n * d : 4 * h * n ** 3;
  const av = 2 * n * n * d;
  return { qk, map, av, total: qk + map + av };
}

/**
 * Median wall time (ms) of one forward pass over `images` for each of `forwards`, read back to the host. The passes
 * are interleaved (rounds of model 1, 2, 3, …; two warm-up rounds dropped) so that a change in machine load affects
 * every model alike. The read back is asynchronous (WebGPU in browsers cannot read GPU tensors synchronously).
 */
async function timeForwards(forwards, images, reps) {
  const once = async (forward) => {
    const t0 = performance.now();
    const logits = tf.tidy(() => forward(images));
    await logits.data();
    logits.dispose();
    return performance.now() - t0;
  };
  const times = forwards.map(() => []);
  for (let round = 0; round < reps + 2; round++) {
    for (const [i, forward] of forwards.entries()) {
      const t = await once(forward);
      if (round >= 2) times[i].push(t);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

/** The mean attention map (over images and heads) of one layer, as a tensor (read it as rows for a heatmap). */
function meanMap(map) {
  return tf.mean(map, [0, 1]);
}

async function train(ctx, s, data, name, model, loss) {
  const params = model.trainableVariables();
  const optimizer = new AdamW(params, { lr: 1e-3, weightDecay: 0.05 });
  const epochs = s.epochs;
  const { history } = await fit({
    params,
    buffers: model.buffers(),
    data,
    sampler: instanceBalancedSampler(data.length, { seed: ctx.seed }),
    batchSize: s.batchSize,
    epochs,
    optimizer,
    schedule: warmupCosineLR(1e-3, {
      totalSteps: epochs,
      warmupSteps: Math.min(2, epochs - 1),
      warmupLrInit: 1e-4,
      minLr: 1e-5,
    }),
    clipGradNorm: 5,
    seed: ctx.seed,
    // No augmentation: on 8×8 digits a one-pixel random crop keeps a from-scratch ViT on its initial plateau for
    // many epochs; all three models see the same plain batches.
    loss: ({ images, labels }, step) => tf.tidy(() => loss(images, labels, step)),
    ...ctx.fitOptions(name),
  });
  return history;
}

/** @type {import('@distillery/cli').Recipe} */
export const recipe = {
  name: 'lavit',
  title: 'LaViT (less attention) vs. ViT on digits',
  summary:
    'LaViT with the Diagonality Preserving loss vs. a ViT of the same depth: accuracy, attention FLOPs, forward time',
  paper: 'LaViT, Zhang et al., CVPR 2024 (arXiv 2406.00427)',
  data: "'digits' (the UCI digits shipped with @distillery/data); default digits",
  defaultEpochs: 25,
  async run(ctx) {
    if (ctx.data !== undefined && ctx.data !== 'digits') {
      throw new DistilleryError('INVALID_ARGUMENT', `--data: expected 'digits', got ${JSON.stringify(ctx.data)}`, {
        argument: '--data',
      });
    }
    const s = settings(ctx);
    const { train: trainSet, test } = splitDigits(ctx.seed, s.testPerClass, s.trainLimit);
    ctx.say(`digits: ${trainSet.length} training images, ${test.length} test images`);
    const common = { imageSize: s.imageSize, patchSize: s.patchSize, inChannels: 1, numClasses: NUM_CLASSES };
    const ce = (logits, labels) => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, NUM_CLASSES), logits);

    ctx.say(`ViT: ${s.depth} VA layers`);
    const vit = new VisionTransformer({
      ...common,
      embedDim: s.dim,
      depth: s.depth,
      numHeads: s.heads,
      seed: ctx.seed,
    });
    const vitHistory = await train(ctx, s, trainSet, 'vit', vit, (x, y, step) =>
      ce(vit.forward(x, { training: true, rng: step.rng }).logits, y),
    );

    const lavitConfig = {
      ...common,
      dims: [s.dim],
      heads: [s.heads],
      vaDepths: [s.va],
      laDepths: [s.la],
      seed: ctx.seed,
    };
    ctx.say(`LaViT: ${s.va} VA + ${s.la} LA layers, CE + ${s.dpWeight}·DP loss`);
    const lavit = new LaViT(lavitConfig);
    // The DP loss of each epoch's first batch: a copy is kept and read after training (asynchronously: WebGPU in
    // browsers cannot read GPU tensors synchronously).
    const dpKept = [];
    const lavitHistory = await train(ctx, s, trainSet, 'lavit-dp', lavit, (x, y, step) => {
      const out = lavit.forward(x, { training: true, rng: step.rng });
      const dp = diagonalityPreservingLoss(out.laMaps);
      if (step.batchIndex === 0) {
        dpKept[step.epoch]?.dispose();
        dpKept[step.epoch] = tf.keep(tf.clone(dp));
      }
      return tf.add(ce(out.logits, y), tf.mul(dp, s.dpWeight));
    });
    const dpTrace = [];
    for (const [epoch, dp] of dpKept.entries()) {
      if (!dp) continue;
      dpTrace[epoch] = (await dp.data())[0];
      dp.dispose();
    }

    ctx.say(`LaViT without the DP loss: ${s.va} VA + ${s.la} LA layers, CE only`);
    const lavitCe = new LaViT(lavitConfig);
    const lavitCeHistory = await train(ctx, s, trainSet, 'lavit-ce', lavitCe, (x, y, step) =>
      ce(lavitCe.forward(x, { training: true, rng: step.rng }).logits, y),
    );

    // Accuracy.
    const truth = test.labels();
    const models = [
      {
        name: 'ViT',
        forward: (x) => vit.forward(x).logits,
        va: s.depth,
        la: 0,
        tokens: vit.numTokens ?? (s.imageSize / s.patchSize) ** 2 + 1,
      },
      {
        name: 'LaViT (CE + DP loss)',
        forward: (x) => lavit.forward(x).logits,
        va: s.va,
        la: s.la,
        tokens: lavit.tokens[0],
      },
      {
        name: 'LaViT (CE only)',
        forward: (x) => lavitCe.forward(x).logits,
        va: s.va,
        la: s.la,
        tokens: lavitCe.tokens[0],
      },
    ];
    const all = test.batch(Array.from({ length: test.length }, (_, i) => i));
    const forwardMs = await timeForwards(
      models.map((m) => m.forward),
      all.images,
      s.timingReps,
    );
    const results = [];
    for (const [index, m] of models.entries()) {
      const predicted = await predictClassesAsync(test, m.forward);
      const va = attentionFlops('va', m.tokens, s.dim, s.heads);
      const la = attentionFlops('la', m.tokens, s.dim, s.heads);
      const flops = m.va * va.total + m.la * la.total;
      results.push({
        ...m,
        accuracy: accuracy(truth, predicted),
        perClass: perClassAccuracy(truth, predicted, NUM_CLASSES),
        confusion: confusionMatrix(truth, predicted, NUM_CLASSES),
        flops,
        vaFlops: va,
        laFlops: la,
        forwardMs: forwardMs[index],
      });
    }
    const base = results[0];
    const rows = results.map((r) => [
      r.name,
      `${r.va} VA + ${r.la} LA`,
      r.accuracy,
      Math.round(r.flops),
      `${(100 * (1 - r.flops / base.flops)).toFixed(1)}%`,
      Number(r.forwardMs.toFixed(1)),
      `${(100 * (1 - r.forwardMs / base.forwardMs)).toFixed(1)}%`,
    ]);

    // Attention maps of the test batch: the ViT's last layer, LaViT's last VA and last LA layer.
    const mapTensors = tf.tidy(() => {
      const v = vit.forward(all.images, { returnAttention: true }).attentions;
      const l = lavit.forward(all.images, { returnAttention: true }).attentions;
      return { vit: meanMap(v[v.length - 1]), va: meanMap(l[s.va - 1]), la: meanMap(l[l.length - 1]) };
    });
    const maps = {};
    for (const [key, t] of Object.entries(mapTensors)) maps[key] = await t.array();
    tf.dispose(Object.values(mapTensors));
    tf.dispose([all.images, all.labels]);

    const layerRows = ['va', 'la'].map((kind) => {
      const f = attentionFlops(kind, lavit.tokens[0], s.dim, s.heads);
      return { kind, ...f };
    });
    const metrics = {
      models: Object.fromEntries(
        results.map((r) => [
          r.name,
          {
            accuracy: r.accuracy,
            attentionFlops: r.flops,
            forwardMs: r.forwardMs,
            vaLayers: r.va,
            laLayers: r.la,
            tokens: r.tokens,
            perClass: r.perClass,
          },
        ]),
      ),
      attentionFlopsPerLayer: Object.fromEntries(
        layerRows.map((r) => [r.kind, { qkProjection: r.qk, map: r.map, attentionTimesV: r.av, total: r.total }]),
      ),
      attentionFlopsSaved: 1 - results[1].flops / base.flops,
      forwardTimeSaved: 1 - results[1].forwardMs / base.forwardMs,
      dpLossAtEpochStart: dpTrace,
      forwardBatch: test.length,
      config: {
        dim: s.dim,
        heads: s.heads,
        depth: s.depth,
        va: s.va,
        la: s.la,
        dpWeight: s.dpWeight,
        epochs: s.epochs,
      },
    };
    const curve = (name, h) => ({ name, x: h.map((e) => e.epoch + 1), y: h.map((e) => e.loss) });
    const weights = {
      vit: await vit.toSafetensorsAsync({ recipe: 'lavit', model: 'vit' }),
      'lavit-dp': await lavit.toSafetensorsAsync({ recipe: 'lavit', model: 'lavit-dp' }),
      'lavit-ce': await lavitCe.toSafetensorsAsync({ recipe: 'lavit', model: 'lavit-ce' }),
    };
    for (const m of [vit, lavit, lavitCe]) m.dispose();
    const n = lavitCe.tokens[0];
    return {
      metrics,
      weights,
      report: {
        description: `UCI digits (8×8), ${trainSet.length} training / ${test.length} test images (stratified). Patch ${s.patchSize} → ${n} patch tokens, width ${s.dim}, ${s.heads} heads, depth ${s.depth}; the ViT adds a class token (${n + 1} tokens), LaViT mean-pools. Attention FLOPs per image (multiply-add = 2) count the Q/K projections, the attention map (QKᵀ or Ψᵀ·A·Θ) and softmax(A)·V; the V and output projections, equal in both layer kinds, are left out. Forward time: median of ${s.timingReps} passes over the ${test.length} test images on the ${ctx.backend} backend, the models' passes interleaved.`,
        paperNote:
          'LaViT (CVPR 2024) replaces most attention computations of each stage by linear transforms of the previous map and reports ImageNet-1K accuracy on par with or above comparable hierarchical ViTs at lower FLOPs and higher throughput (see the paper for the table). This run reproduces the mechanism on 8×8 digits: the saving comes from dropping the Q/K projections; at N = 16 tokens the N³ map transform itself costs more than QKᵀ when 2·H·N > D.',
        table: {
          headers: [
            'model',
            'layers',
            'test accuracy',
            'attention FLOPs / image',
            'FLOPs saved',
            'forward ms',
            'time saved',
          ],
          rows,
        },
        curves: {
          'training loss': [
            curve('ViT', vitHistory),
            curve('LaViT CE + DP', lavitHistory),
            curve('LaViT CE', lavitCeHistory),
          ],
          'DP loss (first batch of each epoch)': [
            { name: 'LaViT CE + DP', x: dpTrace.map((_, i) => i + 1), y: dpTrace },
          ],
        },
        perClass: {
          counts: trainSet.classCounts(),
          accuracy: Object.fromEntries(results.map((r) => [r.name, r.perClass])),
        },
        confusion: results.slice(0, 2).map((r) => ({ title: `confusion: ${r.name}`, matrix: r.confusion })),
        heatmaps: [
          { title: 'ViT, last layer: mean attention', matrix: maps.vit, xLabel: 'key token', yLabel: 'query token' },
          {
            title: `LaViT, last VA layer (${s.va}): mean attention`,
            matrix: maps.va,
            xLabel: 'key token',
            yLabel: 'query token',
          },
          {
            title: `LaViT, last LA layer (${s.depth}): mean softmax(A^l)`,
            matrix: maps.la,
            xLabel: 'key token',
            yLabel: 'query token',
          },
        ],
        notes: [
          `Per layer and image (N = ${n}, D = ${s.dim}, H = ${s.heads}): VA ${layerRows[0].total} FLOPs (Q/K projections ${layerRows[0].qk}, QKᵀ ${layerRows[0].map}, A·V ${layerRows[0].av}); LA ${layerRows[1].total} FLOPs (Θ/Ψ transforms ${layerRows[1].map}, A·V ${layerRows[1].av}).`,
          `DP loss weight λ = ${s.dpWeight}, with the formula's sign as written (diagonalSign +1).`,
        ],
      },
    };
  },
};

export default recipe;
