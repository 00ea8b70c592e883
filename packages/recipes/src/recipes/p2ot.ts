/**
 * Imbalanced clustering at small scale: P²OT (Zhang et al., ICLR 2024, arXiv 2401.09266; rhfeiyang/PPOT) and SP²OT
 * (arXiv 2404.03446; rhfeiyang/SPPOT) against k-means and balanced Sinkhorn (SeLa / SwAV-style) pseudo-labels, on
 * long-tailed digits (IF 10) or long-tailed Fashion-MNIST (IF 100, the papers' CIFAR-100-LT ratio).
 *
 *   1. Data: the shipped UCI digits made long-tailed with an exponential profile, imbalance factor 10 (class 0 the
 *      largest, class 9 the smallest); or Fashion-MNIST's training pool at imbalance factor 100 (n_max 1,000).
 *   2. Fixed features: PCA of the pixels to 16 (digits) or 32 (Fashion-MNIST) dimensions, fitted here on the
 *      long-tailed set itself (unsupervised, no labels used): it stands in for the papers' frozen DINO ViT-B/16.
 *      Fashion-MNIST: γ is chosen on a long-tailed draw of the validation split (disjoint from the clustered images).
 *   3. Clustering into K = 10 clusters:
 *        - k-means (k-means++ seeding, 10 restarts) on the PCA features;
 *        - balanced Sinkhorn, P²OT and SP²OT pseudo-labels, each training the same cosine head on the features with
 *          the swapped-prediction loss (`clusterImbalanced` of @distillery/ot; only the OT solver differs).
 *   4. Evaluation on the same (transductive) samples: ACC and mACC after Hungarian matching, NMI, ARI, macro F1, and
 *      head / medium / tail accuracy with PPOT's 30% / 40% / 30% class-index split.
 *
 * Runs in Node and in browsers (no Node APIs here). `clusterImbalanced` has no checkpoint hook, so --resume restarts
 * the clustering (each solve takes seconds to a minute).
 */
import { type InMemoryDataset, loadDigits } from '@distillery/data';
import { type ClusterImbalancedOptions, clusterImbalanced, kmeans, knnGaussianSimilarity, p2ot } from '@distillery/ot';
import { splitByFraction } from '@distillery/samplers';
import { tf } from '@distillery/tensor';
import {
  adjustedRandIndex,
  clusteringAccuracy,
  confusionMatrix,
  f1Score,
  groupAccuracy,
  normalizedMutualInfo,
} from '@distillery/train';
import { acceptData, fashionMnistPools, longTailSplit, pcaFeatures } from '../kit';
import type { Recipe, RecipeContext } from '../recipe';
import type { Series } from '../report';

const NUM_CLASSES = 10;
const IMBALANCE_FACTOR = 10;
const PCA_DIM = 16;
/** PPOT's cosine head scale (Cos_classifier × 10). */
const SCALE = 10;

/** The sizes of a run: full (the README's numbers) or smoke (seconds, for tests). */
const settings = (ctx: RecipeContext, fashion: boolean) => {
  const { smoke } = ctx;
  return {
    // Digits: IF 10, n_max = the smallest digit class (174 images; smoke 40). Fashion-MNIST: the papers' IF 100 on
    // n_max = 1,000 of the training pool (2,478 images), γ chosen on 500-per-class validation draws (smoke: IF 10 on
    // the 20-per-class smoke pool).
    imbalanceFactor: fashion ? (smoke ? 10 : 100) : IMBALANCE_FACTOR,
    maxCount: fashion ? (smoke ? 20 : 1000) : smoke ? 40 : undefined,
    validationMaxCount: smoke ? 5 : 500,
    pcaDim: fashion ? 32 : PCA_DIM,
    epochs: ctx.epochs ?? (smoke ? 2 : 30),
    batchSize: smoke ? 64 : 128,
    kmeansRestarts: smoke ? 2 : 10,
    // SP²OT majorization–minimization iterations per solve: the reference's 100 would take ~20 s per solve here
    // (150 solves); 5 keeps the whole SP²OT run near three minutes (see the README).
    mmIter: smoke ? 2 : 5,
    knn: smoke ? 5 : 20,
  };
};

/** The γ grid searched on the validation split (Fashion-MNIST), from PPOT's official default 1 down. */
export const GAMMA_GRID = [1, 0.3, 0.1, 0.03, 0.01, 0.003] as const;

/**
 * The recipe's data and features: the shipped UCI digits made long-tailed (exponential profile), and the PCA of
 * their pixels. Returns the features [N, dim] (caller disposes), the labels and the class counts.
 */
export function longTailedDigitFeatures(options: {
  imbalanceFactor: number;
  seed?: number;
  maxCount?: number | undefined;
  dim?: number;
}) {
  const { imbalanceFactor, seed = 0, maxCount, dim = PCA_DIM } = options;
  return longTailedFeatures(loadDigits(), { imbalanceFactor, seed, maxCount, dim });
}

/** One long-tailed draw and its PCA features ([N, dim]; caller disposes), labels and class counts. */
function longTailedFeatures(
  source: Parameters<typeof longTailSplit<InMemoryDataset>>[0],
  options: { imbalanceFactor: number; seed: number; maxCount: number | undefined; dim: number },
) {
  const { imbalanceFactor, seed, maxCount, dim } = options;
  const { train, counts } = longTailSplit(source, { imbalanceFactor, numClasses: NUM_CLASSES, maxCount, seed });
  const { features, explainedVariance } = pcaFeatures(train, { components: dim });
  return { features, labels: train.labels(), counts, explainedVariance };
}

/**
 * The Fashion-MNIST features: a long-tailed draw (exponential profile) of the training pool to cluster, and one of
 * the validation split carved from the training images (disjoint from the pool) to choose γ on; each gets its own
 * PCA, fitted on its own images without labels.
 */
export async function longTailedFashionFeatures(options: {
  seed: number;
  smoke?: boolean;
  imbalanceFactor: number;
  maxCount: number;
  validationMaxCount: number;
  dim: number;
}) {
  const { seed, smoke = false, imbalanceFactor, maxCount, validationMaxCount, dim } = options;
  const { pool, validation } = await fashionMnistPools({ seed, smoke });
  return {
    evaluation: longTailedFeatures(pool, { imbalanceFactor, seed, maxCount, dim }),
    validation: longTailedFeatures(validation, { imbalanceFactor, seed, maxCount: validationMaxCount, dim }),
  };
}

/**
 * P²OT's γ chosen on a validation draw: the grid value with the best Hungarian ACC there (ties to the larger γ),
 * with the same head, loss and schedule as the evaluated runs.
 */
async function selectGamma(
  validation: { features: tf.Tensor2D; labels: Int32Array },
  common: Partial<ClusterImbalancedOptions>,
) {
  const accuracies: number[] = [];
  for (const gamma of GAMMA_GRID) {
    const r = await clusterImbalanced(validation.features, { numClusters: NUM_CLASSES, ...common, gamma });
    r.prototypes.dispose();
    accuracies.push(clusteringAccuracy(validation.labels, r.assignments, NUM_CLASSES).accuracy);
  }
  let best = 0;
  for (let i = 1; i < accuracies.length; i++) if (accuracies[i]! > accuracies[best]! + 1e-9) best = i;
  return { gamma: GAMMA_GRID[best]!, accuracies };
}

/** ACC / mACC after Hungarian matching, NMI, ARI, macro F1 and head / medium / tail accuracy of one clustering. */
function evaluate(
  name: string,
  assignments: Int32Array,
  truth: Int32Array,
  split: { head: number[]; mid: number[]; tail: number[] },
) {
  const acc = clusteringAccuracy(truth, assignments, NUM_CLASSES);
  const remapped = Int32Array.from(acc.remapped);
  const groups = groupAccuracy(truth, remapped, split, NUM_CLASSES);
  const clusterSizes = new Array<number>(NUM_CLASSES).fill(0);
  for (const p of remapped) clusterSizes[p]!++;
  return {
    ...{ name, acc: acc.accuracy, mAcc: acc.meanClassAccuracy },
    ...{ nmi: normalizedMutualInfo(truth, assignments), ari: adjustedRandIndex(truth, assignments) },
    f1: f1Score(truth, remapped, { numClasses: NUM_CLASSES }), // macro F1 after matching, zero_division 0 (PPOT's)
    ...{ head: groups.head, medium: groups.mid, tail: groups.tail, perClass: acc.perClass, clusterSizes },
    ...{ confusion: confusionMatrix(truth, remapped, NUM_CLASSES), remap: acc.mapping },
  };
}
const KEYS = ['acc', 'mAcc', 'nmi', 'ari', 'f1', 'head', 'medium', 'tail'] as const;

/**
 * One P²OT solve on the trained head's logits over all N samples (ρ = 0.5: half the mass is transported), shown as
 * a heatmap of a class-sorted subsample (rows) × clusters (columns ordered by their matched class), plus the plan's
 * mass summed per true class.
 */
function planHeatmaps(
  features: tf.Tensor2D,
  prototypes: tf.Tensor,
  truth: Int32Array,
  remap: ArrayLike<number>,
  perClassRows: number,
) {
  const logits = tf.tidy(() => {
    const nx = tf.div(features, tf.add(tf.norm(features, 2, 1, true), 1e-12));
    return tf.mul(tf.matMul(nx, prototypes, false, true), SCALE) as tf.Tensor2D;
  });
  const solved = p2ot(logits, { rho: 0.5 });
  const plan = solved.pseudoLabels.arraySync() as number[][];
  tf.dispose([logits, solved.pseudoLabels]);
  const clusterOf = new Array<number>(NUM_CLASSES); // column j of the picture = the cluster matched to class j
  Array.from(remap).forEach((cls, cluster) => {
    if (cls >= 0 && cls < NUM_CLASSES) clusterOf[cls] = cluster;
  });
  const rows: number[][] = [];
  const mass = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  const taken = new Array<number>(NUM_CLASSES).fill(0);
  for (let c = 0; c < NUM_CLASSES; c++) {
    for (let i = 0; i < truth.length; i++) {
      if (truth[i] !== c) continue;
      const row = clusterOf.map((k) => plan[i]![k]!);
      row.forEach((v, j) => {
        mass[c]![j]! += v / truth.length;
      });
      if (taken[c]!++ < perClassRows) rows.push(row);
    }
  }
  const xLabel = 'cluster (ordered by matched class 0 → 9)';
  return {
    transportedMass: solved.transportedMass,
    heatmaps: [
      {
        title: `P²OT plan (ρ = 0.5), ${perClassRows} samples per class`,
        matrix: rows,
        xLabel,
        yLabel: 'samples, true class 0 (top) → 9',
      },
      { title: 'P²OT plan mass per true class (ρ = 0.5)', matrix: mass, xLabel, yLabel: 'true class 0 (top) → 9' },
    ],
  };
}

export const recipe: Recipe = {
  name: 'p2ot',
  aliases: ['imbalanced-clustering'],
  title: 'Imbalanced clustering with P²OT / SP²OT on long-tailed data',
  summary:
    'P²OT and SP²OT pseudo-label clustering vs. k-means and balanced Sinkhorn on long-tailed digits (IF 10) or Fashion-MNIST (IF 100)',
  paper: 'P²OT, Zhang et al., ICLR 2024 (arXiv 2401.09266); SP²OT (arXiv 2404.03446)',
  data: "'digits' (the UCI digits shipped with @distillery/data, made long-tailed, IF 10; default) or 'fashion-mnist' (Debian's dataset-fashion-mnist: a long-tailed draw of the training pool, IF 100 with n_max 1,000, PCA to 32-D; γ chosen on a long-tailed draw of the 500-per-class validation split carved from the training images)",
  defaultEpochs: 30,
  evidence: {
    'fashion-mnist': {
      rows: ['k-means', 'Sinkhorn (balanced OT)', 'P²OT', 'SP²OT'].map((m) => ({ label: m, key: `methods.${m}` })),
      columns: [
        ...[
          ['ACC', 'acc'],
          ['NMI', 'nmi'],
          ['mACC', 'mAcc'],
          ['ARI', 'ari'],
        ],
        ...[
          ['head', 'head'],
          ['medium', 'medium'],
          ['tail', 'tail'],
        ],
      ].map(([label, key]) => ({ label: label!, key: key! })),
      // P²OT (arXiv 2401.09266) and SP²OT (arXiv 2404.03446), experiments sections: both above k-means in ACC and NMI.
      claims: (['P²OT', 'SP²OT'] as const).flatMap((m) =>
        (['acc', 'nmi'] as const).map((k) => ({
          claim: `${m} > k-means (${k.toUpperCase()})`,
          better: `methods.${m}.${k}`,
          worse: `methods.k-means.${k}`,
        })),
      ),
    },
  },
  webgpuUnsupported: 'the P²OT / Sinkhorn host solvers of @distillery/ot read tensors with dataSync',
  async run(ctx) {
    const fashion = acceptData(ctx.data, { names: ['digits', 'fashion-mnist'] }) === 'fashion-mnist';
    const s = settings(ctx, fashion);
    if (ctx.resume) {
      ctx.say(
        '--resume: nothing to resume here (each clustering solve runs in one call, without checkpoints); running from the start',
      );
    }
    const { imbalanceFactor, pcaDim } = s;
    const common = { numClusters: NUM_CLASSES, epochs: s.epochs, batchSize: s.batchSize, scale: SCALE, seed: ctx.seed };
    const drawn = fashion
      ? await longTailedFashionFeatures({
          ...{ seed: ctx.seed, smoke: ctx.smoke, imbalanceFactor, maxCount: s.maxCount!, dim: pcaDim },
          validationMaxCount: s.validationMaxCount,
        })
      : { evaluation: longTailedDigitFeatures({ imbalanceFactor, seed: ctx.seed, maxCount: s.maxCount }) };
    const { features, labels: truth, counts, explainedVariance } = drawn.evaluation;
    const lt = { counts };
    const n = truth.length;
    const dataName = fashion ? 'Fashion-MNIST (training pool)' : 'digits';
    ctx.say(`long-tailed ${dataName}, IF ${imbalanceFactor}: ${n} images, counts ${counts.join(' ')}`);
    ctx.say(`features: PCA to ${pcaDim}-D (${(100 * explainedVariance).toFixed(1)}% of the pixel variance)`);
    // Fashion-MNIST: γ (both OT solvers) chosen on the validation draw; digits: PPOT's default γ = 1.
    let selection: { gamma: number; accuracies: number[]; numSamples: number } | undefined;
    if ('validation' in drawn) {
      const v = drawn.validation;
      ctx.say(`choosing γ on the validation draw (${v.labels.length} images, counts ${v.counts.join(' ')})`);
      selection = { ...(await selectGamma(v, common)), numSamples: v.labels.length };
      v.features.dispose();
      ctx.say(`  γ = ${selection.gamma} (validation ACC ${selection.accuracies.map((a) => a.toFixed(3)).join(' / ')})`);
    }
    const gamma = selection ? { gamma: selection.gamma } : {};
    const split = splitByFraction(NUM_CLASSES);

    const results = [];
    const curves: Record<string, Series[]> = { 'loss per step': [], 'ρ per step': [] };
    let t0 = performance.now();
    ctx.say(`k-means (k-means++, ${s.kmeansRestarts} restarts)`);
    const km = kmeans(features, { k: NUM_CLASSES, nInit: s.kmeansRestarts, seed: ctx.seed });
    results.push({ ...evaluate('k-means', km.assignments, truth, split), seconds: (performance.now() - t0) / 1000 });

    // The method: the same cosine head and swapped-prediction loss; only the OT solver of the pseudo-labels changes.
    const similarity = knnGaussianSimilarity(features, { k: s.knn });
    const solvers: [string, ClusterImbalancedOptions['solver'], Partial<ClusterImbalancedOptions>][] = [
      ['Sinkhorn (balanced OT)', 'sinkhorn', {}],
      ['P²OT', 'p2ot', gamma],
      ['SP²OT', 'sp2ot', { similarity, mmIter: s.mmIter, ...gamma }],
    ];
    let p2otHead: { prototypes: tf.Tensor; remap: ArrayLike<number> } | undefined;
    for (const [name, solver, extra] of solvers) {
      ctx.say(`${name}: cosine head, swapped-prediction loss, ${s.epochs} epochs`);
      t0 = performance.now();
      const r = await clusterImbalanced(features, {
        ...{ ...common, solver, ...extra },
        onEpochEnd: (record) => ctx.onEpochEnd?.(name, record),
      });
      const seconds = (performance.now() - t0) / 1000;
      const result = { ...evaluate(name, r.assignments, truth, split), seconds };
      results.push(result);
      const steps = r.losses.map((_, i) => i + 1);
      curves['loss per step']!.push({ name, x: steps, y: r.losses });
      curves['ρ per step']!.push({ name, x: steps, y: r.rhos });
      if (solver === 'p2ot') p2otHead = { prototypes: r.prototypes, remap: result.remap };
      else r.prototypes.dispose();
    }
    const perClassRows = Math.min(5, ...lt.counts);
    const plan = planHeatmaps(features, p2otHead!.prototypes, truth, p2otHead!.remap, perClassRows);
    tf.dispose([features, p2otHead!.prototypes]);

    const rows = results.map((r) => [r.name, ...KEYS.map((k) => r[k]), r.seconds.toFixed(1)]);
    const metrics = {
      ...{ data: fashion ? 'fashion-mnist' : 'digits', imbalanceFactor, counts: lt.counts, numSamples: n, pcaDim },
      explainedVariance,
      ...(selection ? { gammaSelection: { grid: [...GAMMA_GRID], ...selection } } : {}),
      methods: Object.fromEntries(
        results.map((r) => [
          r.name,
          {
            ...Object.fromEntries(KEYS.map((k) => [k, r[k]])),
            ...{ perClass: r.perClass, clusterSizes: r.clusterSizes, seconds: r.seconds },
          },
        ]),
      ),
      p2otPlanTransportedMass: plan.transportedMass,
    };
    return {
      metrics,
      report: {
        description: `${n} long-tailed ${dataName} images (IF ${imbalanceFactor}, exponential profile, counts ${lt.counts.join(', ')}), PCA to ${pcaDim}-D, clustered into K = ${NUM_CLASSES}. ACC = overall accuracy after Hungarian matching, mACC = mean per-class accuracy after matching (what PPOT's evaluation returns), NMI / ARI on raw cluster ids, F1 = macro F1 after matching. Head / medium / tail = classes 0–2 / 3–6 / 7–9 (PPOT's 30% / 40% / 30% split), mean per-class accuracy.`,
        paperNote:
          'P²OT and SP²OT cluster CIFAR-100-LT (IF 100), ImageNet-R and iNaturalist-2018 subsets with a partially fine-tuned DINO ViT-B/16 and report that the progressive partial OT beats balanced-OT and k-means baselines, most on the tail; their numbers (the experiments sections of arXiv 2401.09266 and arXiv 2404.03446) come from a different backbone, data and budget, so none are quoted as a target here. This run keeps the mechanism — the same cosine head and swapped-prediction loss, only the pseudo-label solver changing — on frozen PCA features of small grey images.',
        table: { headers: ['method', 'ACC', 'mACC', 'NMI', 'ARI', 'F1', 'head', 'medium', 'tail', 'seconds'], rows },
        curves,
        perClass: {
          counts: lt.counts,
          accuracy: Object.fromEntries(results.map((r) => [r.name, r.perClass])),
        },
        confusion: results.map((r) => ({ title: `class vs. matched cluster: ${r.name}`, matrix: r.confusion })),
        heatmaps: plan.heatmaps,
        notes: [
          ...(selection
            ? [
                `γ (the KL weight on the cluster marginal, PPOT's gamma_bound, default 1) = ${selection.gamma} for P²OT and SP²OT, the best P²OT ACC on a long-tailed draw of the validation split carved from the training images (${selection.numSamples} images, disjoint from the clustered ones): ${GAMMA_GRID.map((g, i) => `γ ${g}: ${selection.accuracies[i]!.toFixed(3)}`).join(', ')}.`,
              ]
            : []),
          `SP²OT uses ${s.mmIter} majorization–minimization iterations per solve (the reference's 100 would take ~20 s per solve here, with 150 solves per run) and a ${s.knn}-NN Gaussian similarity of the PCA features.`,
          `The plan heatmaps come from one extra P²OT solve (ρ = 0.5) on the trained P²OT head's logits over all ${n} samples; it transported ${plan.transportedMass.toFixed(3)} of the mass.`,
          'Metrics: clusteringAccuracy / normalizedMutualInfo / adjustedRandIndex / f1Score / groupAccuracy of @distillery/train (the copy that @distillery/ot used to export was dropped).',
        ],
      },
    };
  },
};

export default recipe;
