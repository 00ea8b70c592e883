/**
 * Logit distillation side by side on the UCI digits: one teacher, five identical students.
 *
 *   1. the teacher: a CIFAR ResNet (linear classifier) trained with CE on randomly cropped digits;
 *   2. five students, the same small ViT from the same initial weights, on the same batches (same sampler seed, same
 *      crops), differing only in the loss:
 *        CE    cross-entropy only (no teacher), the baseline;
 *        KD    0.1·CE + 0.9·KD(T = 4)                        Hinton et al., arXiv 1503.02531 (mdistiller CIFAR weights);
 *        DKD   CE + warm-up · (1·TCKD + 8·NCKD), T = 4       Zhao et al., arXiv 2203.08679 (mdistiller defaults);
 *        NKD   CE + NKD(T = 1, γ = 1.5)                       Yang et al., arXiv 2303.13005 (cls_KD defaults);
 *        CLKD  0.1·CE + 0.5·L_ins + 1·L_cla + 0.4·L_cc        Zhang et al., arXiv 2211.14773 (re-implementation weights).
 * The teacher sees exactly the student's cropped batch. Top-1 accuracy on a held-out balanced test set.
 *
 * Runs in Node and in browsers (no Node APIs here: files go through the runner's context).
 */
import { randomCrop } from '@distillery/data';
import { clkdLoss, crossEntropy, dkdLoss, kdLoss, linearWarmup, nkdLoss } from '@distillery/losses';
import { classCounts } from '@distillery/samplers';
import { type Rng, tf } from '@distillery/tensor';
import { AdamW, SGD } from '@distillery/train';
import { ResNetCifar, type ResNetCifarConfig, VisionTransformer } from '@distillery/vit';
import {
  acceptData,
  DIGITS,
  digitsSplit,
  evaluateClassifier,
  fashionMnistSplit,
  teacherStudents,
  trainClassifier,
  warmupCosine,
} from '../kit';
import type { Recipe, RecipeContext } from '../recipe';

const NUM_CLASSES = 10;

/** The settings of a run: full (the README's numbers) or smoke (seconds, for tests). */
const settings = (ctx: RecipeContext, fashion: boolean) => {
  const { smoke, seed } = ctx;
  // Fashion-MNIST: 500 training images per class, 10 epochs, a one-block-per-stage teacher: sized to ~10 minutes per
  // seed on one core of this 2-core machine (six models; the teacher's forward on every student batch dominates).
  const epochs = ctx.epochs ?? (smoke ? 1 : fashion ? 10 : 30);
  const teacherEpochs = smoke ? 1 : Math.max(1, Math.round((epochs * 2) / 3));
  return {
    trainLimit: smoke ? 256 : undefined, // smoke runs train on a slice, enough to exercise every loss
    fashionPerClass: 500,
    teacher: {
      ...DIGITS,
      blocks: smoke || fashion ? [1, 1, 1] : [2, 2, 2],
      widths: smoke ? [8, 16, 16] : [16, 32, 64],
    },
    student: {
      ...DIGITS,
      ...(fashion ? { imageSize: 28, patchSize: 7 } : { imageSize: 8, patchSize: 4 }),
      embedDim: smoke ? 16 : 32,
      depth: smoke ? 1 : 2,
      numHeads: 2,
    },
    teacherFit: {
      epochs: teacherEpochs,
      batchSize: 64,
      seed,
      optimizer: (p: tf.Variable[]) => new SGD(p, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true }),
      schedule: warmupCosine({ lr: 0.05, epochs: teacherEpochs, warmupEpochs: 2, warmupLrInit: 0.005 }),
    },
    // Same seed for every student: identical initial weights, batches and crops; only the loss differs.
    studentFit: {
      epochs,
      batchSize: 64,
      seed: seed + 1,
      clipGradNorm: 5,
      optimizer: (p: tf.Variable[]) => new AdamW(p, { lr: 2e-3, weightDecay: 0.05 }),
      schedule: warmupCosine({ lr: 2e-3, epochs, warmupEpochs: 2, warmupLrInit: 2e-4, minLr: 1e-5 }),
    },
  };
};

type Logits = tf.Tensor2D;
/** The student losses: (student logits, teacher logits, labels, epoch 0-indexed, epochs) → scalar. */
const METHODS: {
  key: string;
  name: string;
  loss(s: Logits, t: Logits, y: tf.Tensor1D, epoch: number, epochs: number): tf.Scalar;
}[] = [
  { key: 'ce', name: 'CE (no teacher)', loss: (s, _t, y) => crossEntropy(s, y) },
  {
    key: 'kd',
    name: 'KD',
    loss: (s, t, y) => tf.add(tf.mul(crossEntropy(s, y), 0.1), tf.mul(kdLoss(s, t, { temperature: 4 }), 0.9)),
  },
  {
    key: 'dkd',
    name: 'DKD',
    // mdistiller warms the KD part up over 20 of 240 epochs; here over the first quarter of the run.
    loss: (s, t, y, epoch, epochs) =>
      tf.add(
        crossEntropy(s, y),
        tf.mul(
          dkdLoss(s, t, y, { alpha: 1, beta: 8, temperature: 4 }),
          linearWarmup(epoch + 1, Math.max(1, Math.round(epochs / 4))),
        ),
      ),
  },
  {
    key: 'nkd',
    name: 'NKD',
    loss: (s, t, y) => tf.add(crossEntropy(s, y), nkdLoss(s, t, y, { temperature: 1, gamma: 1.5 })),
  },
  // 0.1·CE + 0.5·(L_ins + 2·L_cla) + 0.4·L_cc: the CE weight of both public re-implementations (no official code).
  { key: 'clkd', name: 'CLKD', loss: (s, t, y) => tf.add(tf.mul(crossEntropy(s, y), 0.1), clkdLoss(s, t)) },
];

const crop = (images: tf.Tensor4D, rng: Rng) => randomCrop(images, rng, { padding: 1, fill: 0 });

export const recipe: Recipe = {
  name: 'kd',
  title: 'Logit distillation on digits: CE, KD, DKD, NKD and CLKD side by side',
  summary: 'ResNet teacher → identical ViT students, one per loss (CE, KD, DKD, NKD, CLKD)',
  paper: 'KD (arXiv 1503.02531), DKD (arXiv 2203.08679), NKD (arXiv 2303.13005), CLKD (arXiv 2211.14773)',
  data: "'digits' (the UCI digits shipped with @distillery/data; default) or 'fashion-mnist' (Debian's dataset-fashion-mnist: 500 per class of the 60,000 training images less a 500-per-class validation split; the balanced 10,000-image test split; 10 epochs by default; smoke runs a 20-per-class subset)",
  defaultEpochs: 30,
  // NKD (arXiv 2303.13005) above KD (Hinton et al., arXiv 1503.02531) above the CE student; DKD and CLKD beside them.
  evidence: {
    'fashion-mnist': {
      rows: [
        { label: 'ResNet teacher', key: 'teacher' },
        ...METHODS.map((m) => ({ label: `ViT student, ${m.name}`, key: `students.${m.key}` })),
      ],
      columns: [
        { label: 'top-1', key: 'top1' },
        { label: 'agreement with the teacher', key: 'agreementWithTeacher' },
      ],
      claims: [
        { claim: 'NKD > KD (top-1)', better: 'students.nkd.top1', worse: 'students.kd.top1' },
        { claim: 'KD > CE student (top-1)', better: 'students.kd.top1', worse: 'students.ce.top1' },
      ],
    },
  },
  async run(ctx) {
    const fashion = acceptData(ctx.data, { names: ['digits', 'fashion-mnist'] }) === 'fashion-mnist';
    const s = settings(ctx, fashion);
    const { train, test } = fashion
      ? await fashionMnistSplit({ seed: ctx.seed, smoke: ctx.smoke, maxPerClass: s.fashionPerClass })
      : digitsSplit({ seed: ctx.seed, trainLimit: s.trainLimit });
    const evaluate = (model: VisionTransformer | ResNetCifar, reference?: Int32Array) =>
      evaluateClassifier(test, (x) => model.forward(x).logits, { numClasses: NUM_CLASSES, reference });
    ctx.say(`${fashion ? 'Fashion-MNIST' : 'digits'}: ${train.length} training images, ${test.length} test images`);

    ctx.say('teacher: ResNet, CE');
    const resnet = new ResNetCifar({ ...s.teacher, seed: ctx.seed } as ResNetCifarConfig);
    const teacher = await trainClassifier({
      ...{ ctx, run: 'teacher', model: resnet, data: train, evaluateOn: test, ...s.teacherFit },
      loss: ({ images, labels }, step) =>
        crossEntropy(resnet.forward(crop(images, step.rng), { training: true }).logits, labels),
    });
    const teacherEval = await evaluate(teacher.model);
    ctx.say(`  teacher top-1 ${teacherEval.overall.toFixed(4)}`);

    // The method: five students, the teacher sees exactly the student's cropped batch.
    const students = [];
    for (const method of METHODS) {
      ctx.say(`student: ViT, ${method.name}`);
      const vit = new VisionTransformer({ ...s.student, seed: ctx.seed + 1 });
      const run = await trainClassifier({
        ...{ ctx, run: `student-${method.key}`, model: vit, data: train, evaluateOn: test, ...s.studentFit },
        teacher: teacher.model,
        loss: ({ images, labels }, step, teacherLogits) => {
          const views = crop(images, step.rng);
          const logits = vit.forward(views, { training: true }).logits;
          return method.loss(logits, teacherLogits(views), labels, step.epoch, s.studentFit.epochs);
        },
      });
      const weights = await vit.toSafetensorsAsync({ recipe: 'kd', method: method.key });
      const e = await evaluate(vit, teacherEval.predicted);
      students.push({ ...e, ...method, history: run.history, parameters: vit.numParameters(), weights });
      vit.dispose();
    }

    const summary = teacherStudents({
      teacher: {
        label: 'ResNet teacher',
        name: 'teacher',
        history: teacher.history,
        parameters: resnet.numParameters(),
        ...teacherEval,
      },
      students,
      baseline: 'ce',
      counts: classCounts(train.labels(), NUM_CLASSES),
    });
    const best = students.filter((r) => r.key !== 'ce').reduce((a, b) => (b.overall > a.overall ? b : a));
    const weights: Record<string, Uint8Array> = {
      teacher: await resnet.toSafetensorsAsync({ recipe: 'kd', method: 'teacher' }),
    };
    for (const r of students) weights[`student-${r.key}`] = r.weights;
    resnet.dispose();
    return {
      metrics: { ...summary.metrics, trainImages: train.length, testImages: test.length },
      weights,
      report: {
        description: `${fashion ? 'Fashion-MNIST (28×28)' : 'UCI digits (8×8)'}, ${train.length} training / ${test.length} test images (${fashion ? 'balanced' : '50 per class'}). One ResNet teacher; five ViT students with the same initial weights and the same batches, differing only in the loss. "vs CE" is the gain over the CE-only student; "agreement" is the fraction of test images where the student predicts the teacher's class.`,
        paperNote:
          'ImageNet ResNet-34 → ResNet-18 top-1 (mdistiller / cls_KD READMEs): KD 71.03, DKD 71.70, NKD 71.96 (student alone 69.90). CLKD has no official code; its formulas here follow the third-party re-implementations (see @distillery/losses). On digits every method is close to the teacher; the ranking is noisy at this scale.',
        table: summary.table,
        curves: summary.curves,
        perClass: summary.perClass,
        confusion: [
          { title: 'confusion: CE student', matrix: summary.baseline.confusion },
          { title: `confusion: ${best.name} student (best distilled)`, matrix: best.confusion },
        ],
        notes: [
          'Loss weights: KD 0.1·CE + 0.9·KD with T 4 (mdistiller CIFAR); DKD CE + min(epoch/W, 1)·(TCKD + 8·NCKD), T 4, W = a quarter of the epochs; NKD CE + NKD (T 1, γ 1.5); CLKD 0.1·CE + 0.5·L_ins + 1·L_cla + 0.4·L_cc (the weights of the CLKD re-implementations).',
        ],
      },
    };
  },
};

export default recipe;
