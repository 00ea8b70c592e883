import {
  balancedSoftmaxLoss,
  clkdLoss,
  crossEntropy,
  deitLtDistillationLoss,
  dkdLoss,
  focalLoss,
  kdLoss,
  ldamLoss,
  linearWarmup,
  logitAdjustedLoss,
  nkdLoss,
  trgLoss,
  trgTemperature,
  uskdLoss,
} from '@distillery/losses';
import { deferredReweighting } from '@distillery/samplers';
import { createRng, invalid, type Rng, tf } from '@distillery/tensor';

/** The distillation losses `distill()` knows by name. */
export const DISTILL_LOSSES = ['kd', 'dkd', 'nkd', 'clkd', 'deit-lt', 'trg', 'uskd'] as const;
export type DistillLossName = (typeof DISTILL_LOSSES)[number];

/** The losses `train()` knows by name (no teacher). */
export const TRAIN_LOSSES = ['ce', 'focal', 'ldam-drw', 'balanced-softmax', 'logit-adjustment'] as const;
export type TrainLossName = (typeof TRAIN_LOSSES)[number];

/** What one step's distillation loss sees. Tensors are owned by the caller. */
export interface DistillStep {
  /** The student's logits (for DeiT-LT its CLS head). */
  logits: tf.Tensor2D;
  /** DeiT-LT: the student's DIST head. */
  distLogits?: tf.Tensor2D;
  teacherLogits: tf.Tensor2D | null;
  /** TRG: the student's patch tokens, projected to the teacher's width, and the teacher's. */
  studentTokens?: tf.Tensor3D;
  teacherTokens?: tf.Tensor3D;
  /** USKD: the weak head's logits. */
  weakLogits?: tf.Tensor2D;
  labels: tf.Tensor1D;
  epoch: number;
  epochs: number;
  rng: Rng;
}

/** How a named distillation loss combines its parts, with the defaults of its official code. */
export interface DistillLossSpec {
  /** False for USKD (self-distillation). */
  teacher: boolean;
  /** The teacher must see the student's augmented batch (no cache). */
  augmentedTeacher: boolean;
  /** Needs the teachers' patch tokens (no cache: the cache stores logits). */
  tokens: boolean;
  /** The student must be a distilled ViT (CLS and DIST heads). */
  distHead: boolean;
  /** A weak head on the student's middle block is trained alongside (USKD). */
  weakHead: boolean;
  /** Default weight of the student CE (null: the loss has its own, DeiT-LT). */
  ceWeight: number | null;
  /** Default weight of the distillation term. */
  distillWeight: number;
  /** The distillation term alone (weighted by the caller). */
  term(step: DistillStep, lossOptions: object | undefined, extra: { warmupEpochs: number }): tf.Scalar;
}

/**
 * The named losses and their official combinations:
 * - kd: 0.1·CE + 0.9·KD(T 4) — mdistiller `cfg.KD` (CE_WEIGHT 0.1, KD_WEIGHT 0.9, T 4), arXiv 1503.02531.
 * - dkd: CE + min(e/20, 1)·DKD(α 1, β 8, T 4) — mdistiller `cfg.DKD` (WARMUP 20, e counted from 1), arXiv 2203.08679.
 * - nkd: CE + NKD(T 1, γ 1.5) — yzd-v/cls_KD NKDLoss, arXiv 2303.13005.
 * - clkd: 0.1·CE + CLKD(0.5·L_ins + 1·L_cla + 0.4·L_cc) — the public re-implementations (no official code), arXiv 2211.14773.
 * - deit-lt: (1 − α)·CE(cls) + α·CE(dist, argmax teacher), α 0.5, hard — val-iisc/DeiT-LT losses.py, arXiv 2404.02900.
 * - trg: CE + TRG(patch tokens of the last block, projected; temperature trgTemperature(e)) — arXiv 2306.12442.
 * - uskd: CE + USKD(α 1, β 0.1, μ 0.005) with a weak head on block ⌊depth/2⌋ − 1 — cls_KD USKDLoss, arXiv 2303.13005.
 */
export const DISTILL_LOSS_SPECS: Record<DistillLossName, DistillLossSpec> = {
  kd: base({ ceWeight: 0.1, distillWeight: 0.9, term: (s, o) => kdLoss(s.logits, s.teacherLogits!, o) }),
  dkd: base({
    term: (s, o, { warmupEpochs }) =>
      tf.mul(dkdLoss(s.logits, s.teacherLogits!, s.labels, o), linearWarmup(s.epoch + 1, warmupEpochs)),
  }),
  nkd: base({ term: (s, o) => nkdLoss(s.logits, s.teacherLogits!, s.labels, o) }),
  clkd: base({ ceWeight: 0.1, term: (s, o) => clkdLoss(s.logits, s.teacherLogits!, o) }),
  'deit-lt': base({
    augmentedTeacher: true,
    distHead: true,
    ceWeight: null,
    term: (s, o) => deitLtDistillationLoss(s.logits, s.distLogits!, s.teacherLogits, s.labels, o),
  }),
  trg: base({
    tokens: true,
    term: (s, o) => {
      const given = (o ?? {}) as { temperature?: number; rng?: Rng };
      const options = {
        ...given,
        rng: given.rng ?? s.rng,
        temperature: given.temperature ?? trgTemperature(s.epoch, s.epochs),
      };
      return trgLoss(s.studentTokens!, s.teacherTokens!, options).total;
    },
  }),
  uskd: base({
    teacher: false,
    weakHead: true,
    term: (s, o) => uskdLoss(s.logits, s.weakLogits!, s.labels, o),
  }),
};

function base(spec: Partial<DistillLossSpec> & Pick<DistillLossSpec, 'term'>): DistillLossSpec {
  return {
    teacher: true,
    augmentedTeacher: false,
    tokens: false,
    distHead: false,
    weakHead: false,
    ceWeight: 1,
    distillWeight: 1,
    ...spec,
  };
}

/** What one step of `train()` sees. */
export interface TrainStep {
  logits: tf.Tensor2D;
  labels: tf.Tensor1D;
  epoch: number;
}

/**
 * A named long-tail loss bound to the training set's class counts:
 * - ce: cross-entropy (lossOptions: labelSmoothing, classWeights).
 * - focal: focal loss, γ 2 (Lin et al., arXiv 1708.02002).
 * - ldam-drw: LDAM (max margin 0.5, s 30) with deferred re-weighting: effective-number weights (β 0.9999) from
 *   `drwEpoch` on, default ⌊0.8·epochs⌋ (kaidic/LDAM-DRW cifar_train.py: epoch 160 of 200), arXiv 1906.07413.
 * - balanced-softmax: log-prior shift of the logits (Ren et al., arXiv 2007.10740).
 * - logit-adjustment: logit-adjusted CE, τ 1 (Menon et al., arXiv 2007.07314).
 */
export function trainLoss(
  name: TrainLossName,
  counts: number[],
  lossOptions: object | undefined,
  drwEpoch: number,
): (step: TrainStep) => tf.Scalar {
  switch (name) {
    case 'ce':
      return (s) => crossEntropy(s.logits, s.labels, lossOptions);
    case 'focal':
      return (s) => focalLoss(s.logits, s.labels, lossOptions);
    case 'balanced-softmax':
      return (s) => balancedSoftmaxLoss(s.logits, s.labels, counts, lossOptions);
    case 'logit-adjustment': {
      const total = counts.reduce((a, b) => a + b, 0);
      const priors = counts.map((c) => c / total);
      return (s) => logitAdjustedLoss(s.logits, s.labels, priors, lossOptions);
    }
    case 'ldam-drw': {
      if (lossOptions && 'classWeights' in lossOptions) {
        throw invalid(
          'INVALID_ARGUMENT',
          'options.lossOptions.classWeights',
          "no class weights with 'ldam-drw' (deferred re-weighting sets them from options.drwEpoch on)",
          'classWeights',
        );
      }
      return (s) =>
        ldamLoss(s.logits, s.labels, counts, {
          ...lossOptions,
          classWeights: deferredReweighting(counts, s.epoch, { drwEpoch }),
        });
    }
  }
}

/** A torch-default Linear(in, out) (weights and bias U(−1/√in, 1/√in)), as plain variables: `[in, out]`, `[out]`. */
export function auxiliaryLinear(name: string, inDim: number, outDim: number, seed: string): tf.Variable[] {
  const rng = createRng(seed);
  const bound = 1 / Math.sqrt(inDim);
  const draw = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-bound, bound));
  const stamp = `${Date.now().toString(36)}_${(auxCounter++).toString(36)}`;
  // tf.variable keeps its own copy: the initial tensors are freed here.
  const variable = (init: tf.Tensor, suffix: string) => {
    const v = tf.variable(init, true, `${name}.${suffix}_${stamp}`);
    init.dispose();
    return v;
  };
  return [
    variable(tf.tensor2d(draw(inDim * outDim), [inDim, outDim]), 'weight'),
    variable(tf.tensor1d(draw(outDim)), 'bias'),
  ];
}
let auxCounter = 0;

/** x · W + b over the last axis. */
export function applyLinear<T extends tf.Tensor>(x: T, [weight, bias]: tf.Variable[]): T {
  return tf.tidy(() => {
    const shape = x.shape;
    const flat = tf.reshape(x, [-1, shape[shape.length - 1]!]);
    const y = tf.add(tf.matMul(flat, weight!), bias!);
    return tf.reshape(y, [...shape.slice(0, -1), weight!.shape[1]!]) as T;
  });
}
