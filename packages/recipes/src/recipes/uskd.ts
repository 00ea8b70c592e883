/**
 * USKD — Universal Self-Knowledge Distillation (Yang et al., arXiv 2303.13005; yzd-v/cls_KD uskd.py) on a small ViT
 * on the UCI digits, against the same ViT trained with plain CE.
 *
 * No teacher: the student builds its own soft labels (@distillery/soft-labels, used inside uskdLoss):
 *   - target:     p̃ = s_t² + 1 − mean_batch(s_t²), from its own target probability;
 *   - non-target: Zipf labels 1/rank, the classes ranked by a weak head's softmax plus the final head's log-softmax
 *     (uskdRankScores), renormalised over the non-target classes (zipfNonTargetLabels).
 * The weak head is an extra Linear(D, C) on the class token after block ⌊depth/2⌋ − 1, before the final norm
 * (cls_KD distiller.py for ViTs); it is trained only through loss_weak and dropped at inference.
 *
 *     L = CE(z, y) + α·loss_t + β·loss_non + loss_weak,   α 1, β 0.1, μ 0.005   (cls_KD deit-t_sd_img)
 *
 * Both models start from the same weights and see the same batches; each is trained for several seeds
 * and the table gives the mean and every run.
 *
 * Runs in Node and in browsers (no Node APIs here: files go through the runner's context).
 */
import { randomCrop } from '@distillery/data';
import { crossEntropy, uskdLoss } from '@distillery/losses';
import { classCounts } from '@distillery/samplers';
import { uskdRankScores, zipfNonTargetLabels } from '@distillery/soft-labels';
import { createRng, tf } from '@distillery/tensor';
import { AdamW, type EpochRecord } from '@distillery/train';
import { addLinear, linear, Module, VisionTransformer } from '@distillery/vit';
import {
  acceptData,
  classMeans,
  DIGITS,
  digitsSplit,
  evaluateClassifier,
  fashionMnistSplit,
  historyCurves,
  trainClassifier,
  warmupCosine,
} from '../kit';
import type { Recipe, RecipeContext } from '../recipe';

const NUM_CLASSES = 10;

/** The settings of a run: full (the README's numbers) or smoke (seconds, for tests). */
const settings = (ctx: RecipeContext, fashion: boolean) => {
  const { smoke } = ctx;
  // Fashion-MNIST: 10 epochs over its 55,000 training images (8,600 steps per model), sized to the 30-minute budget.
  const epochs = ctx.epochs ?? (smoke ? 1 : fashion ? 10 : 30);
  return {
    // Digits: three seeds inside one run. Fashion-MNIST: one; `--seeds 0,1,2` repeats the run (summary.json).
    seeds: smoke || fashion ? 1 : 3,
    trainLimit: smoke ? 256 : undefined,
    vit: {
      ...DIGITS,
      ...(fashion ? { imageSize: 28, patchSize: 7 } : { imageSize: 8, patchSize: 4 }),
      embedDim: smoke ? 16 : 32,
      depth: 2,
      numHeads: 2,
    },
    fit: {
      epochs,
      batchSize: 64,
      clipGradNorm: 5,
      optimizer: (p: tf.Variable[]) => new AdamW(p, { lr: 2e-3, weightDecay: 0.05 }),
      schedule: warmupCosine({ lr: 2e-3, epochs, warmupEpochs: 2, warmupLrInit: 2e-4, minLr: 1e-5 }),
    },
    uskd: { alpha: 1, beta: 0.1, mu: 0.005 },
  };
};

/** USKD's weak head: Linear(D, C) on the class token of an intermediate block. */
class WeakHead extends Module {
  readonly fc: { weight: tf.Variable; bias?: tf.Variable };
  constructor(dim: number, numClasses: number, seed: string) {
    super();
    this.fc = addLinear(this.params, 'fc', dim, numClasses, createRng(seed));
  }
  /** tokens [B, N, D] of the collected block → logits [B, C] from the class token (index 0). */
  forward(tokens: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, , d] = tokens.shape;
      return linear(
        tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, d]), [b, d]),
        this.fc.weight,
        this.fc.bias,
      ) as tf.Tensor2D;
    });
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

export const recipe: Recipe = {
  name: 'uskd',
  aliases: ['self-kd'],
  title: 'USKD self-distillation of a ViT on digits',
  summary: 'USKD (own target + Zipf non-target soft labels, weak mid-depth head) vs. plain CE, same ViT',
  paper: 'USKD, Yang et al., ICCV 2023 (arXiv 2303.13005)',
  data: "'digits' (the UCI digits shipped with @distillery/data; default) or 'fashion-mnist' (Debian's dataset-fashion-mnist: the 60,000 training images less a 500-per-class validation split, balanced; the balanced 10,000-image test split; 10 epochs by default; smoke runs a 20-per-class subset)",
  defaultEpochs: 30,
  evidence: {
    'fashion-mnist': {
      rows: [
        { label: 'ViT, CE', key: 'ce' },
        { label: 'ViT, CE + USKD', key: 'uskd' },
      ],
      columns: [{ label: 'top-1', key: 'mean' }],
      claims: [{ claim: 'USKD > CE (top-1)', better: 'uskd.mean', worse: 'ce.mean' }],
    },
  },
  async run(ctx) {
    const fashion = acceptData(ctx.data, { names: ['digits', 'fashion-mnist'] }) === 'fashion-mnist';
    const s = settings(ctx, fashion);
    const { train, test } = fashion
      ? await fashionMnistSplit({ seed: ctx.seed, smoke: ctx.smoke })
      : digitsSplit({ seed: ctx.seed, trainLimit: s.trainLimit });
    const mid = Math.floor(s.vit.depth / 2) - 1;
    ctx.say(
      `${fashion ? 'Fashion-MNIST' : 'digits'}: ${train.length} training images, ${test.length} test images; ViT depth ${s.vit.depth}, weak head after block ${mid}`,
    );

    const runs: Record<'ce' | 'uskd', { seed: number; top1: number }[]> = { ce: [], uskd: [] };
    const histories: { name: string; history: EpochRecord[] }[] = [];
    const last: Record<string, { perClass: number[]; confusion: number[][] }> = {};
    const weights: Record<string, Uint8Array> = {};
    let zipf: number[][] | null = null;
    for (let r = 0; r < s.seeds; r++) {
      const seed = ctx.seed + 1 + r;
      for (const key of ['ce', 'uskd'] as const) {
        ctx.say(`seed ${seed}: ViT, ${key === 'uskd' ? 'CE + USKD' : 'CE'}`);
        const model = new VisionTransformer({ ...s.vit, seed });
        // The method: a weak head on block `mid`, and uskdLoss on top of CE.
        const head = key === 'uskd' ? new WeakHead(s.vit.embedDim, NUM_CLASSES, `${seed}-weak`) : null;
        const { history } = await trainClassifier({
          ...{ ctx, run: `${key}-seed${seed}`, model, data: train, evaluateOn: test, seed, ...s.fit },
          extraParams: head?.trainableVariables() ?? [],
          loss: ({ images, labels }, step) => {
            const out = model.forward(randomCrop(images, step.rng, { padding: 1, fill: 0 }), {
              training: true,
              collect: head ? [mid] : [],
            });
            const ce = crossEntropy(out.logits, labels);
            return head ? tf.add(ce, uskdLoss(out.logits, head.forward(out.blocks[mid]!), labels, s.uskd)) : ce;
          },
        });
        const e = await evaluateClassifier(test, (x) => model.forward(x).logits, { numClasses: NUM_CLASSES });
        runs[key].push({ seed, top1: e.overall });
        histories.push({ name: `${key === 'uskd' ? 'USKD' : 'CE'} seed ${seed}`, history });
        if (r === s.seeds - 1) {
          last[key] = { perClass: e.perClass, confusion: e.confusion };
          weights[`vit-${key}`] = await model.toSafetensorsAsync({
            recipe: 'self-kd',
            method: key,
            seed: String(seed),
          });
          if (head) {
            weights['uskd-weak-head'] = await head.toSafetensorsAsync({
              recipe: 'self-kd',
              block: String(mid),
              seed: String(seed),
            });
            // The Zipf non-target soft labels of the trained self-teacher, mean per true class (the report's heatmap).
            zipf = await classMeans(test, NUM_CLASSES, ({ images, labels }) => {
              const out = model.forward(images, { collect: [mid] });
              return zipfNonTargetLabels(uskdRankScores(out.logits, head.forward(out.blocks[mid]!), labels), labels);
            });
          }
        }
        model.dispose();
        head?.dispose();
      }
    }

    const summary = (key: 'ce' | 'uskd') => {
      const top1 = runs[key].map((r) => r.top1);
      return { mean: mean(top1), std: std(top1), runs: runs[key] };
    };
    const [ce, uskd] = [summary('ce'), summary('uskd')];
    return {
      metrics: {
        ce,
        uskd,
        gain: uskd.mean - ce.mean,
        seeds: s.seeds,
        epochs: s.fit.epochs,
        trainImages: train.length,
        testImages: test.length,
      },
      weights,
      report: {
        description: `${fashion ? 'Fashion-MNIST (28×28)' : 'UCI digits (8×8)'}, ${train.length} training / ${test.length} test images. The same ViT (depth ${s.vit.depth}, width ${s.vit.embedDim}) trained with CE and with CE + USKD from the same initial weights on the same batches, ${s.seeds} seed(s) each; top-1 on the balanced test set (mean, sample std and each seed).`,
        paperNote:
          'USKD (cls_KD, ImageNet top-1, baseline → USKD): DeiT-Tiny 74.42 → 74.97 (+0.55), ResNet-18 69.90 → 70.79, MobileNet 69.21 → 70.38. Gains are around half a point to a point; at digit scale the seed-to-seed spread is of the same order, so read the mean over seeds.',
        table: {
          headers: ['model', 'top-1 mean', 'std', 'vs CE', ...runs.ce.map((r) => `seed ${r.seed}`)],
          rows: [
            ['ViT, CE', ce.mean, ce.std, '', ...runs.ce.map((r) => r.top1)],
            ['ViT, CE + USKD', uskd.mean, uskd.std, uskd.mean - ce.mean, ...runs.uskd.map((r) => r.top1)],
          ],
        },
        curves: historyCurves(histories, { 'test accuracy': 'testAccuracy', 'training loss': 'loss' }),
        perClass: {
          counts: classCounts(train.labels(), NUM_CLASSES),
          accuracy: { CE: last.ce!.perClass, 'CE + USKD': last.uskd!.perClass },
        },
        confusion: [
          { title: 'confusion: CE (last seed)', matrix: last.ce!.confusion },
          { title: 'confusion: CE + USKD (last seed)', matrix: last.uskd!.confusion },
        ],
        heatmaps: zipf
          ? [
              {
                title: "USKD's Zipf non-target soft labels, mean per true class (test set, trained model)",
                matrix: zipf,
                xLabel: 'non-target class',
                yLabel: 'true class',
              },
            ]
          : [],
        notes: [
          `USKD weights α ${s.uskd.alpha}, β ${s.uskd.beta}, μ ${s.uskd.mu} (cls_KD deit-t_sd_img); hard labels (no mixup), so one label column (k = 1).`,
          'The weak head is trained only through loss_weak and is not used at inference; its weights are saved as uskd-weak-head.',
        ],
      },
    };
  },
};

export default recipe;
