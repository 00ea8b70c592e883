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
import { type WeakStrongOptions, weakStrongViews } from '@distillery/data';
import { crossEntropy, mdcsLoss } from '@distillery/losses';
import { tf } from '@distillery/tensor';
import { SGD } from '@distillery/train';
import { type MultiExpertConfig, MultiExpertResNet } from '@distillery/vit';
import {
  acceptData,
  DIGITS,
  digitsSplit,
  evaluateClassifier,
  fashionMnistSplit,
  groupRow,
  historyCurves,
  longTailSplit,
  trainClassifier,
  warmupCosine,
} from '../kit';
import type { Recipe, RecipeContext } from '../recipe';

const NUM_CLASSES = 10;
const CUTPOINTS: [number, number] = [3, 7];
const LAMBDAS = [-0.5, 1, 2.5];

/** The settings of a run: full (the README's numbers) or smoke (seconds, for tests). */
const settings = (ctx: RecipeContext, fashion: boolean) => {
  const { smoke } = ctx;
  // Fashion-MNIST: IF 100 from 1,000 images per class (2,470 images), one block per stage, 10 epochs, no per-epoch
  // test pass: sized to ~15 minutes per seed on one core of this 2-core machine (three models, two views per image).
  const epochs = ctx.epochs ?? (smoke ? 1 : fashion ? 10 : 40);
  return {
    imbalanceFactor: fashion ? 100 : 20, // Fashion-MNIST: CIFAR-LT's IF 100 (its smoke subset: IF 10)
    maxCount: smoke ? 40 : undefined, // smoke runs: at most 40 images per class
    fashionPerClass: 1000, // Fashion-MNIST's n_max
    // MDCS warms the consistency term up over 20 of 400 epochs; here over the first eighth of the run.
    warmupEpochs: Math.max(1, Math.round(epochs / 8)),
    net: {
      ...DIGITS,
      blocks: smoke || fashion ? [1, 1, 1] : [2, 2, 2],
      widths: smoke ? [8, 16, 16] : [16, 32, 64],
      scale: 30,
    },
    // MDCS: SGD lr 0.1, momentum 0.9, nesterov, wd 5e-4, linear warm-up; cosine decay instead of the step schedule.
    fit: {
      epochs,
      batchSize: 32,
      seed: ctx.seed,
      optimizer: (p: tf.Variable[]) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }),
      schedule: warmupCosine({ lr: 0.1, epochs, warmupEpochs: 3, warmupLrInit: 0.01 }),
    },
    // Digit-sized views: 1-pixel crop padding, 15° rotation, a 3×3 cutout, AutoAugment CIFAR10Policy (MDCS's choice).
    views: { padding: 1, degrees: 15, cutoutSize: 3, policy: 'autoaugment' } satisfies WeakStrongOptions,
    // Fashion-MNIST (28×28): CIFAR's 4-pixel crop padding and a 8×8 cutout (CIFAR's 16 scaled to 28).
    fashionViews: { padding: 4, degrees: 15, cutoutSize: 8, policy: 'autoaugment' } satisfies WeakStrongOptions,
  };
};

/** The three models: MDCS, its diversity-only ablation, and the single-expert CE baseline. */
const MODELS = [
  { kind: 'ce', label: 'single expert, CE', experts: 1, consistencyWeight: 0 },
  { kind: 'diversity', label: '3 experts, diversity loss only', experts: 3, consistencyWeight: 0 },
  { kind: 'mdcs', label: '3 experts, MDCS (diversity + consistency)', experts: 3, consistencyWeight: 0.6 },
];

export const recipe: Recipe = {
  name: 'mdcs',
  title: 'MDCS: multi-expert diversity + consistency self-distillation on long-tailed digits',
  summary: 'three experts with mdcsLoss on weak/strong views vs. a single-expert CE baseline, head/mid/tail accuracy',
  paper: 'MDCS, Zhao et al., ICCV 2023 (arXiv 2308.09922)',
  data: "'digits' (the UCI digits shipped with @distillery/data, made long-tailed, imbalance factor 20; default) or 'fashion-mnist' (Debian's dataset-fashion-mnist: 1,000 per class of the 60,000 training images less a 500-per-class validation split, made long-tailed at imbalance factor 100, 10 epochs by default, smoke runs a 20-per-class subset at 10; the balanced 10,000-image test split)",
  defaultEpochs: 40,
  // MDCS (arXiv 2308.09922) ablation: the full method above its diversity-only part, above a single CE expert.
  evidence: {
    'fashion-mnist': {
      rows: [
        { label: 'single expert, CE', key: 'models.ce' },
        { label: 'diversity loss only', key: 'models.diversity' },
        { label: 'MDCS', key: 'models.mdcs' },
      ],
      columns: ['overall', 'head', 'mid', 'tail'].map((key) => ({ label: key, key })),
      claims: [
        { claim: 'MDCS > diversity only (overall)', better: 'models.mdcs.overall', worse: 'models.diversity.overall' },
        { claim: 'diversity only > CE (overall)', better: 'models.diversity.overall', worse: 'models.ce.overall' },
      ],
    },
  },
  async run(ctx) {
    const fashion = acceptData(ctx.data, { names: ['digits', 'fashion-mnist'] }) === 'fashion-mnist';
    const s = settings(ctx, fashion);
    const views = fashion ? s.fashionViews : s.views;
    // Fashion-MNIST smoke runs: IF 10 (a 20-per-class subset cannot hold IF 100).
    const imbalanceFactor = fashion && ctx.smoke ? 10 : s.imbalanceFactor;
    const dataNote = fashion ? 'Fashion-MNIST' : 'digits';
    const { train, test, counts } = fashion
      ? await fashionMnistSplit({ seed: ctx.seed, smoke: ctx.smoke, imbalanceFactor, maxPerClass: s.fashionPerClass })
      : (() => {
          const { train: pool, test } = digitsSplit({ seed: ctx.seed });
          const maxCount = s.maxCount;
          return {
            test,
            ...longTailSplit(pool, { imbalanceFactor, seed: ctx.seed, numClasses: NUM_CLASSES, maxCount }),
          };
        })();
    ctx.say(
      `long-tailed ${dataNote}, IF ${imbalanceFactor}: ${train.length} training images, counts ${counts.join(' ')}`,
    );

    const runs = [];
    for (const m of MODELS) {
      ctx.say(m.label);
      const model = new MultiExpertResNet({
        ...s.net,
        classifier: 'cosine',
        numExperts: m.experts,
        seed: ctx.seed,
      } as MultiExpertConfig);
      const { history } = await trainClassifier({
        ...{ ctx, run: m.kind, model, data: train, ...s.fit },
        ...(fashion ? {} : { evaluateOn: test }), // Fashion-MNIST: a 10,000-image pass per epoch would double the run
        // The method: every expert on [weak; strong] views, diversity loss + confident consistency distillation.
        loss: ({ images, labels }, step) => {
          const { weak, strong } = weakStrongViews(images, step.rng, views);
          if (m.kind === 'ce') return crossEntropy(model.forward(weak, { training: true }).logits, labels);
          const out = model.forward(tf.concat([weak, strong]), { training: true });
          return mdcsLoss(out.expertLogits, tf.concat([labels, labels]), counts, {
            ...{ lambdas: LAMBDAS, consistencyWeight: m.consistencyWeight },
            ...{ epoch: step.epoch + 1, warmupEpochs: s.warmupEpochs },
          });
        },
      });
      // The ensemble (mean of raw expert logits, MDCS test.py), then each expert alone.
      const heads = [(x: tf.Tensor4D) => model.forward(x).logits];
      if (m.experts > 1) for (let k = 0; k < m.experts; k++) heads.push((x) => model.forward(x).expertLogits[k]!);
      const results = [];
      for (const head of heads)
        results.push(await evaluateClassifier(test, head, { numClasses: NUM_CLASSES, cutpoints: CUTPOINTS }));
      const weights = await model.toSafetensorsAsync({ recipe: 'mdcs', model: m.kind });
      runs.push({ ...m, name: m.label, history, ensemble: results[0]!, experts: results.slice(1), weights });
      model.dispose();
    }

    const metrics = { imbalanceFactor, trainCounts: counts, models: {} as Record<string, unknown> };
    const rows = [];
    for (const { kind, label, ensemble: e, experts } of runs) {
      rows.push(groupRow(label, e));
      for (const [k, x] of experts.entries()) rows.push(groupRow(`  expert ${k + 1} (λ = ${LAMBDAS[k]})`, x));
      metrics.models[kind] = {
        ...{ overall: e.overall, head: e.head, mid: e.mid, tail: e.tail, perClass: e.perClass },
        ...(experts.length
          ? { experts: experts.map((x) => ({ overall: x.overall, head: x.head, mid: x.mid, tail: x.tail })) }
          : {}),
      };
    }
    const [ce, mdcs] = [runs.find((r) => r.kind === 'ce')!, runs.find((r) => r.kind === 'mdcs')!];
    return {
      metrics,
      weights: Object.fromEntries(
        runs.map((r) => [r.kind === 'ce' ? 'single-expert-ce' : `experts-${r.kind}`, r.weights]),
      ),
      report: {
        description: `Long-tailed ${dataNote} (exponential profile, imbalance factor ${imbalanceFactor}, ${train.length} images), ${fashion ? `balanced test set of ${test.length} images` : 'balanced test set of 50 images per class'}. Head / mid / tail = classes 0–2 / 3–6 / 7–9. Rows in italics-style indentation are the individual experts of the model above them; the model's row is the mean of its experts' raw logits.`,
        paperNote:
          'MDCS reports +1–2 points over the previous state of the art on CIFAR-10/100-LT, ImageNet-LT, Places-LT and iNaturalist 2018 (arXiv 2308.09922). Here: the same loss and views on 8×8 digits; the experts should spread from head-leaning (λ = −0.5) to tail-leaning (λ = 2.5).',
        table: { headers: ['model', 'overall', 'head', 'mid', 'tail'], rows },
        curves: historyCurves(
          runs,
          fashion ? { 'training loss': 'loss' } : { 'test accuracy': 'testAccuracy', 'training loss': 'loss' },
        ),
        perClass: {
          counts,
          accuracy: {
            ...Object.fromEntries(runs.map((r) => [r.label, r.ensemble.perClass])),
            ...Object.fromEntries(mdcs.experts.map((e, k) => [`MDCS expert ${k + 1} (λ ${LAMBDAS[k]})`, e.perClass])),
          },
        },
        confusion: [
          { title: 'confusion: single expert, CE', matrix: ce.ensemble.confusion },
          { title: 'confusion: MDCS', matrix: mdcs.ensemble.confusion },
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
