import * as losses from '@distillery/losses';
import { mixupTargets } from '@distillery/soft-labels';
import { createRng, oneHotFloat, randomNormal, tf } from '@distillery/tensor';

/**
 * One entry per public loss: how to build valid inputs of a given shape, which inputs are differentiable, and which
 * arguments name the logits / labels, so the robustness suite can run the same checks over every loss.
 */
export interface LossSpec {
  name: string;
  /** Smallest C the loss accepts (2 for losses with a non-target term). */
  minClasses: number;
  /** Valid inputs in call order (tensors or plain values such as class counts). */
  make(n: number, c: number, scale?: number): unknown[];
  /** Argument names in call order (as the errors name them). */
  argNames: string[];
  /** Indices (into the call args) of the differentiable logit inputs. */
  differentiable: number[];
  /** Index of the int labels argument, if any. */
  labelsIndex?: number;
  /** Index of a per-class count argument, if any. */
  countsIndex?: number;
  /** A second logit argument whose shape must match the first (checked with SHAPE_MISMATCH). */
  mismatchIndex?: number;
  call(args: unknown[], options?: Record<string, unknown>): tf.Scalar;
}

const rng = createRng(1234);
export const logitsOf = (n: number, c: number, scale = 2): tf.Tensor2D =>
  tf.tidy(() => tf.mul(randomNormal([n, c], rng), scale)) as tf.Tensor2D;
export const labelsOf = (n: number, c: number): tf.Tensor1D =>
  tf.tensor1d(
    Array.from({ length: n }, (_, i) => (i * 7 + 3) % c),
    'int32',
  );
export const countsOf = (c: number): number[] =>
  Array.from({ length: c }, (_, i) => Math.max(1, Math.round(500 * 0.9 ** i)));

/** Mixup targets (λ = 0.7, smoothing 0.1); for C = 1 (only used to test the C check) a column of ones. */
export const softTargetsOf = (n: number, c: number): tf.Tensor2D =>
  c < 2 ? tf.ones([n, c]) : tf.tidy(() => mixupTargets(labelsOf(n, c), c, { lambda: 0.7 }));

type Fn = (...args: unknown[]) => tf.Scalar;

/** Spec defaults merged under the test's options; a non-object options value is passed through untouched. */
const merge = (defaults: Record<string, unknown>, options?: unknown) =>
  options === undefined || (typeof options === 'object' && options !== null)
    ? { ...defaults, ...(options as object) }
    : options;
const fns = losses as unknown as Record<string, Fn>;

function withLabels(name: string, extra: (c: number) => Record<string, unknown>): LossSpec {
  return {
    name,
    minClasses: 1,
    argNames: ['logits', 'labels'],
    differentiable: [0],
    labelsIndex: 1,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), labelsOf(n, c)],
    call: (args, options) =>
      (fns[name] as Fn)(...args, merge(extra((args[0] as tf.Tensor).shape[1] as number), options)),
  };
}

function withCounts(name: string, countsName: string): LossSpec {
  return {
    name,
    minClasses: 1,
    argNames: ['logits', 'labels', countsName],
    differentiable: [0],
    labelsIndex: 1,
    countsIndex: 2,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), labelsOf(n, c), countsOf(c)],
    call: (args, options) => (fns[name] as Fn)(...args, options),
  };
}

function pairWithLabels(name: string, minClasses: number, third = 'teacher'): LossSpec {
  return {
    name,
    minClasses,
    argNames: ['student', third, 'labels'],
    differentiable: third === 'teacher' ? [0] : [0, 1],
    labelsIndex: 2,
    mismatchIndex: 1,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), logitsOf(n, c, scale), labelsOf(n, c)],
    call: (args, options) => (fns[name] as Fn)(...args, options),
  };
}

export const specs: LossSpec[] = [
  {
    name: 'kdLoss',
    minClasses: 1,
    argNames: ['student', 'teacher'],
    differentiable: [0],
    mismatchIndex: 1,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), logitsOf(n, c, scale)],
    call: (args, options) => losses.kdLoss(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, options),
  },
  ...(['clkdLoss', 'instanceLogitLoss', 'classLogitLoss', 'classCorrelationLoss'] as const).map(
    (name): LossSpec => ({
      name,
      minClasses: name === 'clkdLoss' || name === 'classCorrelationLoss' ? 2 : 1,
      argNames: ['student', 'teacher'],
      differentiable: [0],
      mismatchIndex: 1,
      make: (n, c, scale = 2) => [logitsOf(n, c, scale), logitsOf(n, c, scale)],
      call: (args, options) => (fns[name] as Fn)(...args, options),
    }),
  ),
  pairWithLabels('dkdLoss', 2),
  pairWithLabels('nkdLoss', 2),
  pairWithLabels('uskdLoss', 2, 'weakLogits'),
  withLabels('crossEntropy', (c) => ({ labelSmoothing: 0.1, classWeights: countsOf(c) })),
  withLabels('focalLoss', (c) => ({ gamma: 2, classWeights: countsOf(c) })),
  withCounts('balancedSoftmaxLoss', 'classCounts'),
  withCounts('logitAdjustedLoss', 'classPriors'),
  withCounts('ldamLoss', 'classCounts'),
  {
    name: 'softTargetCrossEntropy',
    minClasses: 1,
    argNames: ['logits', 'targets'],
    differentiable: [0],
    mismatchIndex: 1,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), c < 2 ? tf.ones([n, c]) : softTargetsOf(n, c)],
    call: (args, options) => losses.softTargetCrossEntropy(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, options),
  },
  {
    name: 'deitLtDistillationLoss',
    minClasses: 1,
    argNames: ['clsLogits', 'distLogits', 'teacherLogits', 'labels'],
    differentiable: [0, 1],
    labelsIndex: 3,
    mismatchIndex: 1,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), logitsOf(n, c, scale), logitsOf(n, c, scale), labelsOf(n, c)],
    call: (args, options) =>
      losses.deitLtDistillationLoss(
        args[0] as tf.Tensor2D,
        args[1] as tf.Tensor2D,
        args[2] as tf.Tensor2D,
        args[3] as tf.Tensor1D,
        merge({ classWeights: countsOf((args[0] as tf.Tensor).shape[1] as number) }, options) as object,
      ),
  },
  {
    name: 'deitLtDistillationLoss (soft)',
    minClasses: 1,
    argNames: ['clsLogits', 'distLogits', 'teacherLogits', 'labels'],
    differentiable: [0, 1],
    labelsIndex: 3,
    mismatchIndex: 2,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), logitsOf(n, c, scale), logitsOf(n, c, scale), labelsOf(n, c)],
    call: (args, options) =>
      losses.deitLtDistillationLoss(
        args[0] as tf.Tensor2D,
        args[1] as tf.Tensor2D,
        args[2] as tf.Tensor2D,
        args[3] as tf.Tensor1D,
        merge({ type: 'soft', temperature: 2 }, options) as object,
      ),
  },
  {
    name: 'splcLoss',
    minClasses: 1,
    argNames: ['logits', 'multiHotTargets'],
    differentiable: [0],
    mismatchIndex: 1,
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), tf.tidy(() => oneHotFloat(labelsOf(n, c), c))],
    call: (args, options) =>
      losses.splcLoss(
        args[0] as tf.Tensor2D,
        args[1] as tf.Tensor2D,
        merge({ epoch: 3 }, options) as losses.SplcLossOptions,
      ),
  },
];

/** Soft-target variants (mixup targets as labels) of the losses that accept them. */
export const softTargetSpecs: LossSpec[] = [
  {
    ...pairWithLabels('nkdLoss', 2),
    name: 'nkdLoss (soft targets)',
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), logitsOf(n, c, scale), softTargetsOf(n, c)],
    call: (args, options) =>
      losses.nkdLoss(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, args[2] as tf.Tensor2D, options),
  },
  {
    ...pairWithLabels('uskdLoss', 3, 'weakLogits'),
    name: 'uskdLoss (soft targets)',
    make: (n, c, scale = 2) => [logitsOf(n, c, scale), logitsOf(n, c, scale), softTargetsOf(n, c)],
    call: (args, options) =>
      losses.uskdLoss(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, args[2] as tf.Tensor2D, options),
  },
];
