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
import { loadDigits, randomCrop, stratifiedSplit } from '@distillery/data';
import { clkdLoss, crossEntropy, dkdLoss, kdLoss, linearWarmup, nkdLoss } from '@distillery/losses';
import { instanceBalancedSampler } from '@distillery/samplers';
import { DistilleryError, stopGradient, tf } from '@distillery/tensor';
import {
  AdamW,
  accuracy,
  confusionMatrix,
  fit,
  perClassAccuracy,
  predictClassesAsync,
  SGD,
  warmupCosineLR,
} from '@distillery/train';
import { ResNetCifar, VisionTransformer } from '@distillery/vit';

const NUM_CLASSES = 10;
const TEST_PER_CLASS = 50;

/** The sizes of a run: full (the README's numbers) or smoke (seconds, for tests). */
function settings(ctx) {
  const smoke = ctx.smoke;
  const epochs = ctx.epochs ?? (smoke ? 1 : 30);
  return {
    smoke,
    teacherEpochs: smoke ? 1 : Math.max(1, Math.round((epochs * 2) / 3)),
    studentEpochs: epochs,
    batchSize: 64,
    teacher: {
      numClasses: NUM_CLASSES,
      inChannels: 1,
      blocks: smoke ? [1, 1, 1] : [2, 2, 2],
      widths: smoke ? [8, 16, 16] : [16, 32, 64],
    },
    student: {
      imageSize: 8,
      patchSize: 4,
      inChannels: 1,
      numClasses: NUM_CLASSES,
      embedDim: smoke ? 16 : 32,
      depth: smoke ? 1 : 2,
      numHeads: 2,
    },
  };
}

const crop = (images, rng) => randomCrop(images, rng, { padding: 1, fill: 0 });

/** The student losses, each (student logits, teacher logits, labels, epoch 0-indexed, epochs) → scalar. */
const METHODS = [
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
  {
    key: 'clkd',
    name: 'CLKD',
    // 0.1·CE + 0.5·(L_ins + 2·L_cla) + 0.4·L_cc: the CE weight of both public re-implementations (no official code).
    loss: (s, t, y) => tf.add(tf.mul(crossEntropy(s, y), 0.1), clkdLoss(s, t)),
  },
];

async function trainTeacher(ctx, s, train, test) {
  const model = new ResNetCifar({ ...s.teacher, seed: ctx.seed });
  const params = model.trainableVariables();
  const epochs = s.teacherEpochs;
  const truth = test.labels();
  const { history } = await fit({
    params,
    buffers: model.buffers(),
    data: train,
    sampler: instanceBalancedSampler(train.length, { seed: ctx.seed }),
    batchSize: s.batchSize,
    epochs,
    optimizer: new SGD(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true }),
    schedule: warmupCosineLR(0.05, { totalSteps: epochs, warmupSteps: Math.min(2, epochs - 1), warmupLrInit: 0.005 }),
    seed: ctx.seed,
    loss: ({ images, labels }, step) =>
      tf.tidy(() => crossEntropy(model.forward(crop(images, step.rng), { training: true }).logits, labels)),
    evaluate: async () => ({
      testAccuracy: accuracy(
        truth,
        await predictClassesAsync(test, (x) => model.forward(x).logits, { batchSize: 250 }),
      ),
    }),
    ...ctx.fitOptions('teacher'),
  });
  return { model, history };
}

async function trainStudent(ctx, s, train, test, teacher, method) {
  // Same seed for every student: identical initial weights, batches and crops; only the loss differs.
  const model = new VisionTransformer({ ...s.student, seed: ctx.seed + 1 });
  const params = model.trainableVariables();
  const epochs = s.studentEpochs;
  const truth = test.labels();
  const { history } = await fit({
    params,
    buffers: model.buffers(),
    data: train,
    sampler: instanceBalancedSampler(train.length, { seed: ctx.seed + 1 }),
    batchSize: s.batchSize,
    epochs,
    optimizer: new AdamW(params, { lr: 2e-3, weightDecay: 0.05 }),
    schedule: warmupCosineLR(2e-3, {
      totalSteps: epochs,
      warmupSteps: Math.min(2, epochs - 1),
      warmupLrInit: 2e-4,
      minLr: 1e-5,
    }),
    clipGradNorm: 5,
    seed: ctx.seed + 1,
    loss: ({ images, labels }, step) =>
      tf.tidy(() => {
        const views = crop(images, step.rng);
        const logits = model.forward(views, { training: true }).logits;
        const teacherLogits = stopGradient(teacher.forward(views, { training: false }).logits);
        return method.loss(logits, teacherLogits, labels, step.epoch, epochs);
      }),
    evaluate: async () => ({
      testAccuracy: accuracy(
        truth,
        await predictClassesAsync(test, (x) => model.forward(x).logits, { batchSize: 250 }),
      ),
    }),
    ...ctx.fitOptions(`student-${method.key}`),
  });
  return { model, history };
}

/** @type {import('../recipe').Recipe} */
export const recipe = {
  name: 'kd',
  title: 'Logit distillation on digits: CE, KD, DKD, NKD and CLKD side by side',
  summary: 'ResNet teacher → identical ViT students, one per loss (CE, KD, DKD, NKD, CLKD)',
  paper: 'KD (arXiv 1503.02531), DKD (arXiv 2203.08679), NKD (arXiv 2303.13005), CLKD (arXiv 2211.14773)',
  data: "'digits' (the UCI digits shipped with @distillery/data); default digits",
  defaultEpochs: 30,
  async run(ctx) {
    if (ctx.data !== undefined && ctx.data !== 'digits') {
      throw new DistilleryError('INVALID_ARGUMENT', `--data: expected 'digits', got ${JSON.stringify(ctx.data)}`, {
        argument: '--data',
      });
    }
    const s = settings(ctx);
    const split = stratifiedSplit(loadDigits(), { testPerClass: TEST_PER_CLASS, seed: ctx.seed });
    const test = split.test;
    // Smoke runs train on a slice, enough to exercise every loss in seconds.
    const train = s.smoke ? split.train.subset(Array.from({ length: 256 }, (_, i) => i)) : split.train;
    const truth = test.labels();
    ctx.say(`digits: ${train.length} training images, ${test.length} test images`);

    ctx.say('teacher: ResNet, CE');
    const teacher = await trainTeacher(ctx, s, train, test);
    const teacherPredicted = await predictClassesAsync(test, (x) => teacher.model.forward(x).logits, {
      batchSize: 250,
    });
    const teacherTop1 = accuracy(truth, teacherPredicted);
    ctx.say(`  teacher top-1 ${teacherTop1.toFixed(4)}`);

    const results = [];
    for (const method of METHODS) {
      ctx.say(`student: ViT, ${method.name}`);
      const run = await trainStudent(ctx, s, train, test, teacher.model, method);
      const predicted = await predictClassesAsync(test, (x) => run.model.forward(x).logits, { batchSize: 250 });
      let agree = 0;
      for (let i = 0; i < predicted.length; i++) agree += predicted[i] === teacherPredicted[i] ? 1 : 0;
      results.push({
        method,
        history: run.history,
        top1: accuracy(truth, predicted),
        agreement: agree / predicted.length,
        perClass: perClassAccuracy(truth, predicted, NUM_CLASSES),
        confusion: confusionMatrix(truth, predicted, NUM_CLASSES),
        weights: await run.model.toSafetensorsAsync({ recipe: 'kd', method: method.key }),
        parameters: run.model.numParameters(),
      });
      run.model.dispose();
    }

    const ce = results[0].top1;
    const teacherParams = teacher.model.numParameters();
    const rows = [
      ['ResNet teacher', teacherParams, teacherTop1, '', ''],
      ...results.map((r) => [
        `ViT student, ${r.method.name}`,
        r.parameters,
        r.top1,
        r.method.key === 'ce' ? '' : r.top1 - ce,
        r.agreement,
      ]),
    ];
    const curves = {
      'test accuracy': [teacher, ...results].map((r, i) => ({
        name: i === 0 ? 'teacher' : r.method.name,
        x: r.history.map((h) => h.epoch + 1),
        y: r.history.map((h) => h.testAccuracy),
      })),
      'training loss': [teacher, ...results].map((r, i) => ({
        name: i === 0 ? 'teacher' : r.method.name,
        x: r.history.map((h) => h.epoch + 1),
        y: r.history.map((h) => h.loss),
      })),
    };
    const best = results.slice(1).reduce((a, b) => (b.top1 > a.top1 ? b : a));
    const weights = { teacher: await teacher.model.toSafetensorsAsync({ recipe: 'kd', method: 'teacher' }) };
    for (const r of results) weights[`student-${r.method.key}`] = r.weights;
    teacher.model.dispose();
    return {
      metrics: {
        teacher: { top1: teacherTop1, parameters: teacherParams },
        students: Object.fromEntries(
          results.map((r) => [r.method.key, { top1: r.top1, agreementWithTeacher: r.agreement, perClass: r.perClass }]),
        ),
        trainImages: train.length,
        testImages: test.length,
      },
      weights,
      report: {
        description: `UCI digits (8×8), ${train.length} training / ${test.length} test images (${TEST_PER_CLASS} per class). One ResNet teacher; five ViT students with the same initial weights and the same batches, differing only in the loss. "vs CE" is the gain over the CE-only student; "agreement" is the fraction of test images where the student predicts the teacher's class.`,
        paperNote:
          'ImageNet ResNet-34 → ResNet-18 top-1 (mdistiller / cls_KD READMEs): KD 71.03, DKD 71.70, NKD 71.96 (student alone 69.90). CLKD has no official code; its formulas here follow the third-party re-implementations (see @distillery/losses). On digits every method is close to the teacher; the ranking is noisy at this scale.',
        table: { headers: ['model', 'parameters', 'top-1', 'vs CE', 'agreement'], rows },
        curves,
        perClass: {
          counts: Array.from({ length: NUM_CLASSES }, (_, c) => train.labels().filter((y) => y === c).length),
          accuracy: Object.fromEntries(results.map((r) => [r.method.name, r.perClass])),
        },
        confusion: [
          { title: 'confusion: CE student', matrix: results[0].confusion },
          { title: `confusion: ${best.method.name} student (best distilled)`, matrix: best.confusion },
        ],
        notes: [
          'Loss weights: KD 0.1·CE + 0.9·KD with T 4 (mdistiller CIFAR); DKD CE + min(epoch/W, 1)·(TCKD + 8·NCKD), T 4, W = a quarter of the epochs; NKD CE + NKD (T 1, γ 1.5); CLKD 0.1·CE + 0.5·L_ins + 1·L_cla + 0.4·L_cc (the weights of the CLKD re-implementations).',
        ],
      },
    };
  },
};

export default recipe;
