/**
 * TRG — knowledge distillation via a token-level relationship graph (Zhang, Liu, He, arXiv 2306.12442) from a larger
 * ViT to a small ViT on the UCI digits, against a CE-only student and plain logit KD.
 *
 *   1. the teacher: a ViT (width 64, depth 4) trained with CE;
 *   2. four students, the same small ViT (width 32, depth 2) from the same initial weights on the same batches:
 *        CE         cross-entropy only;
 *        KD         0.1·CE + 0.9·KD(T = 4) (Hinton KD with mdistiller's CIFAR weights);
 *        CE + TRG   CE + TRG on the patch tokens of the last block;
 *        KD + TRG   0.1·CE + 0.9·KD + TRG (the paper's L_logit + relation terms).
 *      TRG: the student's patch tokens (VisionTransformer `collect`, last block, before the final norm) go through a
 *      trainable Linear(32 → 64) projection and are matched to the teacher's with trgLoss: the local k-NN graph term,
 *      the global InfoNCE term (temperature cosine-decayed 1 → 0.1 by trgTemperature) and the contextual term, all
 *      with weight 1. The graph spans every patch token of the batch.
 * The teacher sees exactly the student's cropped batch. Top-1 accuracy on a balanced held-out test set.
 *
 * Runs in Node and in browsers (no Node APIs here: files go through the runner's context).
 */
import { randomCrop } from '@distillery/data';
import { crossEntropy, kdLoss, trgLoss, trgTemperature } from '@distillery/losses';
import { classCounts } from '@distillery/samplers';
import { createRng, type Rng, stopGradient, tf } from '@distillery/tensor';
import { AdamW } from '@distillery/train';
import { addLinear, linear, Module, VisionTransformer } from '@distillery/vit';
import {
  acceptData,
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
  const { smoke } = ctx;
  // Fashion-MNIST: 500 training images per class, 10 epochs: sized to ~10 minutes per seed on one core of this
  // 2-core machine (five ViTs; the teacher's forward on every student batch).
  const epochs = ctx.epochs ?? (smoke ? 1 : fashion ? 10 : 30);
  // Digits 8×8 in 2×2 patches of 4; Fashion-MNIST 28×28 in 4×4 patches of 7.
  const base = {
    ...(fashion ? { imageSize: 28, patchSize: 7 } : { imageSize: 8, patchSize: 4 }),
    inChannels: 1,
    numClasses: NUM_CLASSES,
  };
  const fit = (e: number) => ({
    epochs: e,
    batchSize: 64,
    clipGradNorm: 5,
    optimizer: (p: tf.Variable[]) => new AdamW(p, { lr: 2e-3, weightDecay: 0.05 }),
    schedule: warmupCosine({ lr: 2e-3, epochs: e, warmupEpochs: 2, warmupLrInit: 2e-4, minLr: 1e-5 }),
  });
  return {
    trainLimit: smoke ? 256 : undefined, // smoke runs train on a slice, enough to exercise every loss
    fashionPerClass: 500,
    teacher: { ...base, embedDim: smoke ? 32 : 64, depth: smoke ? 2 : 4, numHeads: 4 },
    student: { ...base, embedDim: 16 * (smoke ? 1 : 2), depth: smoke ? 1 : 2, numHeads: 2 },
    teacherFit: fit(smoke ? 1 : epochs),
    studentFit: fit(epochs),
  };
};

const METHODS = [
  { key: 'ce', name: 'CE (no teacher)', kd: false, trg: false },
  { key: 'kd', name: 'KD', kd: true, trg: false },
  { key: 'ce-trg', name: 'CE + TRG', kd: false, trg: true },
  { key: 'kd-trg', name: 'KD + TRG', kd: true, trg: true },
];

/** The student → teacher token projection TRG needs when the widths differ. */
class Projection extends Module {
  readonly proj: { weight: tf.Variable; bias?: tf.Variable };
  constructor(inDim: number, outDim: number, seed: string) {
    super();
    this.proj = addLinear(this.params, 'proj', inDim, outDim, createRng(seed));
  }
  forward(tokens: tf.Tensor): tf.Tensor3D {
    return linear(tokens, this.proj.weight, this.proj.bias) as tf.Tensor3D;
  }
}

/** Output tokens of block `index` without the prefix (class) token: [B, L, D]. */
function patchTokens(out: { blocks: Record<number, tf.Tensor3D> }, index: number, prefix: number): tf.Tensor3D {
  const [b, n, d] = out.blocks[index]!.shape;
  return tf.slice(out.blocks[index]!, [0, prefix, 0], [b, n - prefix, d]);
}

const crop = (images: tf.Tensor4D, rng: Rng) => randomCrop(images, rng, { padding: 1, fill: 0 });

export const recipe: Recipe = {
  name: 'trg',
  title: 'TRG: token-relationship-graph distillation ViT → ViT on digits',
  summary: 'larger ViT → small ViT with TRG on patch tokens (+ CE, + KD), vs. CE-only and plain KD',
  paper: 'TRG, Zhang, Liu, He (arXiv 2306.12442); KD, Hinton et al. (arXiv 1503.02531)',
  data: "'digits' (the UCI digits shipped with @distillery/data; default) or 'fashion-mnist' (Debian's dataset-fashion-mnist: 500 per class of the 60,000 training images less a 500-per-class validation split; the balanced 10,000-image test split; 10 epochs by default; smoke runs a 20-per-class subset)",
  defaultEpochs: 30,
  evidence: {
    'fashion-mnist': {
      rows: [
        { label: 'ViT teacher', key: 'teacher' },
        ...METHODS.map((m) => ({ label: `ViT student, ${m.name}`, key: `students.${m.key}` })),
      ],
      columns: [
        { label: 'top-1', key: 'top1' },
        { label: 'agreement with the teacher', key: 'agreementWithTeacher' },
      ],
      claims: [{ claim: 'KD + TRG > KD (top-1)', better: 'students.kd-trg.top1', worse: 'students.kd.top1' }],
    },
  },
  async run(ctx) {
    const fashion = acceptData(ctx.data, { names: ['digits', 'fashion-mnist'] }) === 'fashion-mnist';
    const s = settings(ctx, fashion);
    const { train, test } = fashion
      ? await fashionMnistSplit({ seed: ctx.seed, smoke: ctx.smoke, maxPerClass: s.fashionPerClass })
      : digitsSplit({ seed: ctx.seed, trainLimit: s.trainLimit });
    const evaluate = (model: VisionTransformer, reference?: Int32Array) =>
      evaluateClassifier(test, (x) => model.forward(x).logits, { numClasses: NUM_CLASSES, reference });
    ctx.say(`${fashion ? 'Fashion-MNIST' : 'digits'}: ${train.length} training images, ${test.length} test images`);

    ctx.say(`teacher: ViT width ${s.teacher.embedDim}, depth ${s.teacher.depth}, CE`);
    const teacher = new VisionTransformer({ ...s.teacher, seed: ctx.seed });
    const teacherRun = await trainClassifier({
      ...{ ctx, run: 'teacher', model: teacher, data: train, evaluateOn: test, seed: ctx.seed, ...s.teacherFit },
      loss: ({ images, labels }, step) =>
        crossEntropy(teacher.forward(crop(images, step.rng), { training: true }).logits, labels),
    });
    const teacherEval = await evaluate(teacher);
    ctx.say(`  teacher top-1 ${teacherEval.overall.toFixed(4)}`);
    const [teacherLast, studentLast] = [s.teacher.depth - 1, s.student.depth - 1];

    const students = [];
    for (const method of METHODS) {
      ctx.say(`student: ViT width ${s.student.embedDim}, depth ${s.student.depth}, ${method.name}`);
      const projection = method.trg ? new Projection(s.student.embedDim, s.teacher.embedDim, `${ctx.seed}-proj`) : null;
      const vit = new VisionTransformer({ ...s.student, seed: ctx.seed + 1 });
      const run = await trainClassifier({
        ...{
          ctx,
          run: `student-${method.key}`,
          model: vit,
          data: train,
          evaluateOn: test,
          seed: ctx.seed + 1,
          ...s.studentFit,
        },
        extraParams: projection?.trainableVariables() ?? [],
        // The method: CE (or 0.1·CE + 0.9·KD) plus TRG between projected student and teacher patch tokens.
        loss: ({ images, labels }, step) => {
          const views = crop(images, step.rng);
          const out = vit.forward(views, { training: true, collect: method.trg ? [studentLast] : [] });
          if (!method.kd && !method.trg) return crossEntropy(out.logits, labels);
          const t = teacher.forward(views, { training: false, collect: method.trg ? [teacherLast] : [] });
          const terms = method.kd
            ? [
                tf.mul(crossEntropy(out.logits, labels), 0.1),
                tf.mul(kdLoss(out.logits, stopGradient(t.logits), { temperature: 4 }), 0.9),
              ]
            : [crossEntropy(out.logits, labels)];
          if (projection) {
            const studentTokens = projection.forward(patchTokens(out, studentLast, vit.numPrefixTokens));
            const teacherTokens = stopGradient(patchTokens(t, teacherLast, teacher.numPrefixTokens));
            const temperature = trgTemperature(step.epoch, s.studentFit.epochs);
            terms.push(trgLoss(studentTokens, teacherTokens, { rng: step.rng, temperature }).total);
          }
          return tf.addN(terms) as tf.Scalar;
        },
      });
      const e = await evaluate(vit, teacherEval.predicted);
      const weights = await vit.toSafetensorsAsync({ recipe: 'trg', method: method.key });
      students.push({ ...e, ...method, history: run.history, parameters: vit.numParameters(), weights });
      vit.dispose();
      projection?.dispose();
    }

    const summary = teacherStudents({
      teacher: {
        label: 'ViT teacher',
        name: 'teacher',
        history: teacherRun.history,
        parameters: teacher.numParameters(),
        ...teacherEval,
      },
      students,
      baseline: 'ce',
      counts: classCounts(train.labels(), NUM_CLASSES),
    });
    const trgBest = students.filter((r) => r.trg).reduce((a, b) => (b.overall > a.overall ? b : a));
    const weights: Record<string, Uint8Array> = {
      teacher: await teacher.toSafetensorsAsync({ recipe: 'trg', method: 'teacher' }),
    };
    for (const r of students) weights[`student-${r.key}`] = r.weights;
    teacher.dispose();
    return {
      metrics: { ...summary.metrics, trainImages: train.length, testImages: test.length },
      weights,
      report: {
        description: `${fashion ? 'Fashion-MNIST (28×28, 7×7 patches: 16 patch tokens per image)' : 'UCI digits (8×8, 4×4 patches: 4 patch tokens per image)'}, ${train.length} training / ${test.length} test images. One ViT teacher; four small ViT students with the same initial weights and the same batches. "vs CE" is the gain over the CE-only student; "agreement" the fraction of test images where the student predicts the teacher's class.`,
        paperNote:
          'TRG reports state-of-the-art results on CIFAR-100, ImageNet, CIFAR-100-LT and ImageNet-LT, with gains growing with the batch size (arXiv 2306.12442 abstract; no official code, and the formulas follow secondary summaries: the choices are in @distillery/losses trgLoss). Here: the same three relation terms on the patch tokens of a 2-block ViT distilled from a 4-block one.',
        table: summary.table,
        curves: summary.curves,
        perClass: summary.perClass,
        confusion: [
          { title: 'confusion: CE student', matrix: summary.baseline.confusion },
          { title: `confusion: ${trgBest.name} student`, matrix: trgBest.confusion },
        ],
        notes: [
          'TRG weights 1 / 1 / 1 (local / global / contextual); k = 8 neighbours, σ = mean teacher neighbour distance; the global InfoNCE temperature follows trgTemperature (cosine 1 → 0.1 over the run).',
          `The student→teacher projection (Linear ${s.student.embedDim} → ${s.teacher.embedDim}) is trained with the student and dropped afterwards.`,
        ],
      },
    };
  },
};

export default recipe;
