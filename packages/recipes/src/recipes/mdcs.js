/**
 * MDCS at small scale (Zhao et al., ICCV 2023, arXiv 2308.09922; fistyee/MDCS) on long-tailed digits.
 *
 *   - MDCS: a ResNet with three experts (shared stem + first stage, one second/third stage and one cosine classifier
 *     each, @distillery/vit MultiExpertResNet), trained on [weak view; strong view] pairs of every batch with
 *     mdcsLoss: the diversity loss (each expert's CE on logits shifted by log n^λ_k, λ = −0.5 / 1 / 2.5 for a head-,
 *     a balanced- and a tail-leaning expert) plus consistency self-distillation (weak view teaches strong view, only
 *     on the instances the expert gets right on the weak view: confident instance sampling), warmed up linearly.
 *     Test: the mean of the three experts' raw logits (MDCS test.py).
 *   - Ablation: the same three experts with the diversity loss only (consistency weight 0).
 *   - Baseline: a single-expert network of the same family trained with plain CE on the weak views.
 * Accuracy is reported overall and on head / mid / tail classes ([0, 3) / [3, 7) / [7, 10), as DeiT-LT cuts
 * CIFAR-10) on a balanced held-out test set, and per expert.
 *
 * Runs in Node and in browsers (no Node APIs here: files go through the runner's context).
 */
import { loadDigits, stratifiedSplit, weakStrongViews } from '@distillery/data';
import { crossEntropy, mdcsLoss } from '@distillery/losses';
import { instanceBalancedSampler, longTailSubset, splitByCutpoints } from '@distillery/samplers';
import { DistilleryError, tf } from '@distillery/tensor';
import {
  accuracy,
  confusionMatrix,
  fit,
  groupAccuracy,
  perClassAccuracy,
  SGD,
  warmupCosineLR,
} from '@distillery/train';
import { MultiExpertResNet } from '@distillery/vit';

const NUM_CLASSES = 10;
const TEST_PER_CLASS = 50;
const CUTPOINTS = /** @type {[number, number]} */ ([3, 7]);
const LAMBDAS = [-0.5, 1, 2.5];

/** The sizes of a run: full (the README's numbers) or smoke (seconds, for tests). */
function settings(ctx) {
  const smoke = ctx.smoke;
  const epochs = ctx.epochs ?? (smoke ? 1 : 40);
  return {
    smoke,
    epochs,
    imbalanceFactor: 20,
    batchSize: 32,
    // MDCS warms the consistency term up over 20 of 400 epochs; here over the first eighth of the run.
    warmupEpochs: Math.max(1, Math.round(epochs / 8)),
    net: {
      numClasses: NUM_CLASSES,
      inChannels: 1,
      blocks: smoke ? [1, 1, 1] : [2, 2, 2],
      widths: smoke ? [8, 16, 16] : [16, 32, 64],
      classifier: 'cosine',
      scale: 30,
    },
    // Digit-sized views: 1-pixel crop padding, 15° rotation, a 3×3 cutout, AutoAugment CIFAR10Policy (MDCS's choice).
    views: { padding: 1, degrees: 15, cutoutSize: 3, policy: 'autoaugment' },
  };
}

/**
 * Predicted classes of several heads at once: `forward(images)` returns one logit matrix per head. Read
 * asynchronously (WebGPU in browsers cannot read GPU tensors synchronously).
 */
async function predictHeads(dataset, forward, batchSize = 250) {
  let outs = null;
  for (let start = 0; start < dataset.length; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, dataset.length - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    const predicted = tf.tidy(() => forward(batch.images).map((z) => tf.argMax(z, 1)));
    outs ??= predicted.map(() => new Int32Array(dataset.length));
    for (const [h, p] of predicted.entries()) outs[h].set(await p.data(), start);
    tf.dispose([batch.images, batch.labels, ...predicted]);
  }
  return outs;
}

async function evaluateHeads(test, forward, split) {
  const truth = test.labels();
  return (await predictHeads(test, forward)).map((predicted) => {
    const groups = groupAccuracy(truth, predicted, split, NUM_CLASSES);
    return {
      overall: accuracy(truth, predicted),
      head: groups.head,
      mid: groups.mid,
      tail: groups.tail,
      perClass: perClassAccuracy(truth, predicted, NUM_CLASSES),
      confusion: confusionMatrix(truth, predicted, NUM_CLASSES),
    };
  });
}

/**
 * One model: 'mdcs' (3 experts, diversity + consistency), 'diversity' (3 experts, consistency weight 0) or
 * 'ce' (1 expert, CE on the weak views).
 */
async function train(ctx, s, trainSet, counts, test, split, kind) {
  const experts = kind === 'ce' ? 1 : 3;
  const model = new MultiExpertResNet({ ...s.net, numExperts: experts, seed: ctx.seed });
  const params = model.trainableVariables();
  const epochs = s.epochs;
  const truth = test.labels();
  const { history } = await fit({
    params,
    buffers: model.buffers(),
    data: trainSet,
    sampler: instanceBalancedSampler(trainSet.length, { seed: ctx.seed }),
    batchSize: s.batchSize,
    epochs,
    // MDCS: SGD lr 0.1, momentum 0.9, nesterov, wd 5e-4, linear warm-up; cosine decay instead of the step schedule.
    optimizer: new SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }),
    schedule: warmupCosineLR(0.1, { totalSteps: epochs, warmupSteps: Math.min(3, epochs - 1), warmupLrInit: 0.01 }),
    seed: ctx.seed,
    loss: ({ images, labels }, step) =>
      tf.tidy(() => {
        const { weak, strong } = weakStrongViews(images, step.rng, s.views);
        if (kind === 'ce') return crossEntropy(model.forward(weak, { training: true }).logits, labels);
        const out = model.forward(tf.concat([weak, strong]), { training: true });
        return mdcsLoss(out.expertLogits, tf.concat([labels, labels]), counts, {
          lambdas: LAMBDAS,
          consistencyWeight: kind === 'mdcs' ? 0.6 : 0,
          epoch: step.epoch + 1,
          warmupEpochs: s.warmupEpochs,
        });
      }),
    evaluate: async () => ({
      testAccuracy: accuracy(truth, (await predictHeads(test, (x) => [model.forward(x).logits]))[0]),
    }),
    ...ctx.fitOptions(kind),
  });
  // The ensemble (mean of raw expert logits, MDCS test.py), then each expert alone.
  const results = await evaluateHeads(
    test,
    (x) => {
      const out = model.forward(x);
      return experts > 1 ? [out.logits, ...out.expertLogits] : [out.logits];
    },
    split,
  );
  return { model, history, results };
}

/** @type {import('../recipe').Recipe} */
export const recipe = {
  name: 'mdcs',
  title: 'MDCS: multi-expert diversity + consistency self-distillation on long-tailed digits',
  summary: 'three experts with mdcsLoss on weak/strong views vs. a single-expert CE baseline, head/mid/tail accuracy',
  paper: 'MDCS, Zhao et al., ICCV 2023 (arXiv 2308.09922)',
  data: "'digits' (the UCI digits shipped with @distillery/data, made long-tailed, imbalance factor 20); default digits",
  defaultEpochs: 40,
  async run(ctx) {
    if (ctx.data !== undefined && ctx.data !== 'digits') {
      throw new DistilleryError('INVALID_ARGUMENT', `--data: expected 'digits', got ${JSON.stringify(ctx.data)}`, {
        argument: '--data',
      });
    }
    const s = settings(ctx);
    const { test, train: pool } = stratifiedSplit(loadDigits(), { testPerClass: TEST_PER_CLASS, seed: ctx.seed });
    const split = splitByCutpoints(NUM_CLASSES, CUTPOINTS);
    const lt = longTailSubset(pool.labels(), {
      imbalanceFactor: s.imbalanceFactor,
      seed: ctx.seed,
      numClasses: NUM_CLASSES,
      // Smoke runs: at most 40 images per class, enough to exercise the losses in seconds.
      maxCount: s.smoke ? 40 : undefined,
    });
    const trainSet = pool.subset(lt.indices);
    const counts = lt.counts;
    ctx.say(
      `long-tailed digits, IF ${s.imbalanceFactor}: ${trainSet.length} training images, counts ${counts.join(' ')}`,
    );

    const runs = [];
    for (const [kind, label] of [
      ['ce', 'single expert, CE'],
      ['diversity', '3 experts, diversity loss only'],
      ['mdcs', '3 experts, MDCS (diversity + consistency)'],
    ]) {
      ctx.say(label);
      runs.push({ kind, label, ...(await train(ctx, s, trainSet, counts, test, split, kind)) });
    }

    const rows = [];
    const metrics = { imbalanceFactor: s.imbalanceFactor, trainCounts: counts, models: {} };
    for (const run of runs) {
      const [ensemble, ...experts] = run.results;
      rows.push([run.label, ensemble.overall, ensemble.head, ensemble.mid, ensemble.tail]);
      experts.forEach((e, k) => {
        rows.push([`  expert ${k + 1} (λ = ${LAMBDAS[k]})`, e.overall, e.head, e.mid, e.tail]);
      });
      metrics.models[run.kind] = {
        overall: ensemble.overall,
        head: ensemble.head,
        mid: ensemble.mid,
        tail: ensemble.tail,
        perClass: ensemble.perClass,
        ...(experts.length
          ? { experts: experts.map((e) => ({ overall: e.overall, head: e.head, mid: e.mid, tail: e.tail })) }
          : {}),
      };
    }
    const mdcs = runs[2];
    const weights = {};
    for (const r of runs) {
      weights[r.kind === 'ce' ? 'single-expert-ce' : `experts-${r.kind}`] = await r.model.toSafetensorsAsync({
        recipe: 'mdcs',
        model: r.kind,
      });
    }
    for (const r of runs) r.model.dispose();
    return {
      metrics,
      weights,
      report: {
        description: `Long-tailed digits (exponential profile, imbalance factor ${s.imbalanceFactor}, ${trainSet.length} images), balanced test set of ${TEST_PER_CLASS} images per class. Head / mid / tail = classes 0–2 / 3–6 / 7–9. Rows in italics-style indentation are the individual experts of the model above them; the model's row is the mean of its experts' raw logits.`,
        paperNote:
          'MDCS reports +1–2 points over the previous state of the art on CIFAR-10/100-LT, ImageNet-LT, Places-LT and iNaturalist 2018 (arXiv 2308.09922). Here: the same loss and views on 8×8 digits; the experts should spread from head-leaning (λ = −0.5) to tail-leaning (λ = 2.5).',
        table: { headers: ['model', 'overall', 'head', 'mid', 'tail'], rows },
        curves: {
          'test accuracy': runs.map((r) => ({
            name: r.label,
            x: r.history.map((h) => h.epoch + 1),
            y: r.history.map((h) => h.testAccuracy),
          })),
          'training loss': runs.map((r) => ({
            name: r.label,
            x: r.history.map((h) => h.epoch + 1),
            y: r.history.map((h) => h.loss),
          })),
        },
        perClass: {
          counts,
          accuracy: {
            ...Object.fromEntries(runs.map((r) => [r.label, r.results[0].perClass])),
            ...Object.fromEntries(
              mdcs.results.slice(1).map((e, k) => [`MDCS expert ${k + 1} (λ ${LAMBDAS[k]})`, e.perClass]),
            ),
          },
        },
        confusion: [
          { title: 'confusion: single expert, CE', matrix: runs[0].results[0].confusion },
          { title: 'confusion: MDCS', matrix: mdcs.results[0].confusion },
        ],
        notes: [
          `mdcsLoss defaults: λ = ${LAMBDAS.join(' / ')}, consistency weight 0.6, linear warm-up over ${s.warmupEpochs} epoch(s) (MDCS: 20 of 400).`,
          'weakStrongViews includes a random horizontal flip (MDCS CIFAR views); on digits this makes the models flip-invariant, which costs a little accuracy for every model alike.',
        ],
      },
    };
  },
};

export default recipe;
