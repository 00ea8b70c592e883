import * as L from '@distillery/losses';
import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { expectDistilleryError } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { countsOf, type LossSpec, labelsOf, logitsOf, softTargetSpecs, softTargetsOf, specs } from './specs';

const disposeAll = (args: unknown[]) => tf.dispose(args.filter((a): a is tf.Tensor => a instanceof tf.Tensor));

/** Forward + backward with respect to the differentiable inputs; returns [loss, ...grads]. */
function forwardBackward(spec: LossSpec, args: unknown[], options?: Record<string, unknown>): tf.Tensor[] {
  const xs = spec.differentiable.map((i) => args[i] as tf.Tensor);
  const f = (...diff: tf.Tensor[]) => {
    const full = args.slice();
    spec.differentiable.forEach((i, k) => {
      full[i] = diff[k];
    });
    return spec.call(full, options);
  };
  const { value, grads } = tf.valueAndGrads(f)(xs);
  return [value, ...grads];
}

describe.each([...specs, ...softTargetSpecs])('$name robustness', (spec) => {
  const other = spec.mismatchIndex;
  if (other !== undefined) {
    it('rejects inputs whose shapes disagree, naming the second argument', () => {
      const args = spec.make(4, 5);
      const bad = args.slice();
      bad[other] = tf.zeros([4, 6]);
      expectDistilleryError(() => spec.call(bad), spec.argNames[other]!, 'SHAPE_MISMATCH');
      disposeAll([...args, bad[other]]);
    });
  }

  const ci = spec.countsIndex;
  if (ci !== undefined) {
    it('rejects per-class counts with a zero, the wrong length or a NaN, naming the argument', () => {
      const args = spec.make(3, 5);
      const bad = args.slice();
      bad[ci] = [10, 5, 0, 2, 1];
      expectDistilleryError(() => spec.call(bad), spec.argNames[ci]!, 'OUT_OF_RANGE');
      bad[ci] = [10, 5, 2, 1];
      expectDistilleryError(() => spec.call(bad), spec.argNames[ci]!, 'SHAPE_MISMATCH');
      bad[ci] = [10, 5, Number.NaN, 2, 1];
      expectDistilleryError(() => spec.call(bad), spec.argNames[ci]!, 'NON_FINITE');
      bad[ci] = tf.tensor1d([10, 5, 3, 2, 1]);
      const value = spec.call(bad);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      tf.dispose([value, bad[ci] as tf.Tensor]);
      disposeAll(args);
    });
  }

  it('rejects an empty batch (N = 0) and non-2D logits', () => {
    const args = spec.make(4, 5);
    const bad = args.slice();
    bad[0] = tf.zeros([0, 5]);
    expectDistilleryError(() => spec.call(bad), spec.argNames[0]!, 'EMPTY_INPUT');
    tf.dispose(bad[0] as tf.Tensor);
    bad[0] = tf.zeros([4, 5, 1]);
    expectDistilleryError(() => spec.call(bad), spec.argNames[0]!, 'INVALID_RANK');
    disposeAll([...args, bad[0]]);
  });

  if (spec.minClasses > 1) {
    it(`rejects C < ${spec.minClasses} (the non-target term needs another class)`, () => {
      const args = spec.make(3, spec.minClasses - 1);
      expectDistilleryError(() => spec.call(args), spec.argNames[0]!, 'OUT_OF_RANGE');
      disposeAll(args);
    });
  }

  if (spec.labelsIndex !== undefined && !spec.name.includes('soft')) {
    const li = spec.labelsIndex;
    it('rejects labels out of range, non-integer labels and a label count that differs from N', () => {
      const args = spec.make(3, 5);
      const bad = args.slice();
      bad[li] = tf.tensor1d([0, 5, 1], 'int32');
      expectDistilleryError(() => spec.call(bad), 'labels', 'OUT_OF_RANGE');
      tf.dispose(bad[li] as tf.Tensor);
      bad[li] = tf.tensor1d([0, -1, 1], 'int32');
      expectDistilleryError(() => spec.call(bad), 'labels', 'OUT_OF_RANGE');
      tf.dispose(bad[li] as tf.Tensor);
      bad[li] = tf.tensor1d([0, 1.5, 1], 'float32');
      expectDistilleryError(() => spec.call(bad), 'labels', 'NOT_INTEGER');
      tf.dispose(bad[li] as tf.Tensor);
      bad[li] = tf.tensor1d([0, 1], 'int32');
      expectDistilleryError(() => spec.call(bad), 'labels', 'SHAPE_MISMATCH');
      tf.dispose(bad[li] as tf.Tensor);
      disposeAll(args);
    });
  }

  it('throws NON_FINITE for NaN logits with checkFinite (and only then reads the data)', () => {
    const args = spec.make(3, 5);
    const bad = args.slice();
    bad[0] = tf.tensor2d([
      [0, 1, 2, 3, 4],
      [0, Number.NaN, 2, 3, 4],
      [0, 1, 2, 3, 4],
    ]);
    expectDistilleryError(() => spec.call(bad, { checkFinite: true }), spec.argNames[0]!, 'NON_FINITE');
    disposeAll([...args, bad[0]]);
  });

  it('rejects a non-object options argument', () => {
    const args = spec.make(3, 5);
    expectDistilleryError(
      () => spec.call(args, 3 as unknown as Record<string, unknown>),
      'options',
      'INVALID_ARGUMENT',
    );
    disposeAll(args);
  });

  it('gives a finite loss and finite gradients at ±1e4 logits', () => {
    const args = spec.make(8, 10, 1e4);
    const outs = forwardBackward(spec, args);
    for (const t of outs) {
      const values = t.dataSync();
      expect(
        Array.from(values).every((v) => Number.isFinite(v)),
        `${spec.name}: non-finite output`,
      ).toBe(true);
    }
    tf.dispose(outs);
    disposeAll(args);
  });

  it('allocates nothing that outlives a forward + backward pass (100 iterations)', async () => {
    const args = spec.make(8, 10);
    await assertNoTensorLeak(() => forwardBackward(spec, args), 100, spec.name);
    disposeAll(args);
  });
});

/**
 * The bad inputs of the reliability sweep (issue 13), one `it` per public function: unknown (typo'd) option keys,
 * enum values outside their list, negative weights and ranges, NaN / negative soft labels. Each must be a
 * DistilleryError naming the argument. BAD_INPUTS counts the tries (reported in the pull request).
 */
describe('bad inputs of the reliability sweep (every public function)', () => {
  type Try = [what: string, call: () => unknown, argument: RegExp];
  const tries: Record<string, (t: Tensors) => Try[]> = {
    kdLoss: ({ s, t }) => [
      ['typo temprature', () => L.kdLoss(s, t, { temprature: 1 } as never), /options\.temprature/],
      ['temperature 0', () => L.kdLoss(s, t, { temperature: 0 }), /options\.temperature/],
      ['options array', () => L.kdLoss(s, t, [] as never), /^options$/],
    ],
    dkdLoss: ({ s, t, y }) => [
      ['typo temp', () => L.dkdLoss(s, t, y, { temp: 4 } as never), /options\.temp/],
      ['alpha −1', () => L.dkdLoss(s, t, y, { alpha: -1 }), /options\.alpha/],
      ['beta NaN', () => L.dkdLoss(s, t, y, { beta: Number.NaN }), /options\.beta/],
      ['labels out of range', () => L.dkdLoss(s, t, tf.tensor1d([0, 9, 1, 2], 'int32')), /^labels$/],
    ],
    linearWarmup: () => [
      ['epoch −1', () => L.linearWarmup(-1, 20), /^epoch$/],
      ['epochs NaN', () => L.linearWarmup(1, Number.NaN), /^epochs$/],
    ],
    nkdLoss: ({ s, t, y, soft }) => [
      ['gamma −1', () => L.nkdLoss(s, t, y, { gamma: -1 }), /options\.gamma/],
      ['typo gama', () => L.nkdLoss(s, t, y, { gama: 1 } as never), /options\.gama/],
      ['NaN soft label', () => L.nkdLoss(s, t, withValue(soft, Number.NaN)), /^labels$/],
      ['negative soft label', () => L.nkdLoss(s, t, withValue(soft, -0.5)), /^labels$/],
    ],
    uskdLoss: ({ s, t, y, soft }) => [
      ['mu −0.1', () => L.uskdLoss(s, t, y, { mu: -0.1 }), /options\.mu/],
      ['alpha −1', () => L.uskdLoss(s, t, y, { alpha: -1 }), /options\.alpha/],
      ['beta −1', () => L.uskdLoss(s, t, y, { beta: -1 }), /options\.beta/],
      ['typo mu_', () => L.uskdLoss(s, t, y, { mu_: 1 } as never), /options\.mu_/],
      ['NaN soft label', () => L.uskdLoss(s, t, withValue(soft, Number.NaN)), /^labels$/],
      ['negative soft label', () => L.uskdLoss(s, t, withValue(soft, -1)), /^labels$/],
    ],
    mdcsLoss: ({ y }) => [
      [
        'typo warmup',
        () => L.mdcsLoss([logitsOf(4, 5)], y, countsOf(5), { epoch: 1, warmup: 3, lambdas: [1] } as never),
        /options\.warmup/,
      ],
      [
        'consistencyWeight −1',
        () => L.mdcsLoss([logitsOf(4, 5)], y, countsOf(5), { epoch: 1, lambdas: [1], consistencyWeight: -1 }),
        /options\.consistencyWeight/,
      ],
      ['no epoch', () => L.mdcsLoss([logitsOf(4, 5)], y, countsOf(5), { lambdas: [1] } as never), /options\.epoch/],
      [
        'label 9 of 5',
        () => L.mdcsLoss([logitsOf(4, 5)], tf.tensor1d([0, 9, 1, 2], 'int32'), countsOf(5), { epoch: 1, lambdas: [1] }),
        /^labels$/,
      ],
    ],
    deitLtDistillationLoss: ({ s, t, y, soft }) => [
      ["type 'medium'", () => L.deitLtDistillationLoss(s, s, t, y, { type: 'medium' as 'hard' }), /options\.type/],
      ['typo tau', () => L.deitLtDistillationLoss(s, s, t, y, { tau: 1 } as never), /options\.tau/],
      ['alpha 1.5', () => L.deitLtDistillationLoss(s, s, t, y, { alpha: 1.5 }), /options\.alpha/],
      ['no teacher for hard', () => L.deitLtDistillationLoss(s, s, null, y), /teacherLogits/],
      ['NaN soft label', () => L.deitLtDistillationLoss(s, s, t, withValue(soft, Number.NaN)), /^labels$/],
      [
        'negative class weight',
        () => L.deitLtDistillationLoss(s, s, t, y, { classWeights: [1, -1, 1, 1, 1] }),
        /options\.classWeights/,
      ],
    ],
    crossEntropy: ({ s, y }) => [
      [
        'typo label_smoothing',
        () => L.crossEntropy(s, y, { label_smoothing: 0.1 } as never),
        /options\.label_smoothing/,
      ],
      ['labelSmoothing 2', () => L.crossEntropy(s, y, { labelSmoothing: 2 }), /options\.labelSmoothing/],
      [
        'classWeights NaN',
        () => L.crossEntropy(s, y, { classWeights: [1, Number.NaN, 1, 1, 1] }),
        /options\.classWeights/,
      ],
    ],
    focalLoss: ({ s, y }) => [
      ['gamma −0.5', () => L.focalLoss(s, y, { gamma: -0.5 }), /options\.gamma/],
      ['typo weight', () => L.focalLoss(s, y, { weight: [1, 1, 1, 1, 1] } as never), /options\.weight/],
    ],
    balancedSoftmaxLoss: ({ s, y }) => [
      [
        'typo checkfinite',
        () => L.balancedSoftmaxLoss(s, y, countsOf(5), { checkfinite: true } as never),
        /options\.checkfinite/,
      ],
      ['count 0', () => L.balancedSoftmaxLoss(s, y, [1, 0, 1, 1, 1]), /classCounts/],
    ],
    logitAdjustedLoss: ({ s, y }) => [
      ['tau −1', () => L.logitAdjustedLoss(s, y, countsOf(5), { tau: -1 }), /options\.tau/],
      [
        'typo temperature',
        () => L.logitAdjustedLoss(s, y, countsOf(5), { temperature: 1 } as never),
        /options\.temperature/,
      ],
      ['prior −0.1', () => L.logitAdjustedLoss(s, y, [0.5, -0.1, 0.2, 0.2, 0.2]), /classPriors/],
    ],
    ldamLoss: ({ s, y }) => [
      ['typo max_m', () => L.ldamLoss(s, y, countsOf(5), { max_m: 0.5 } as never), /options\.max_m/],
      ['scale 0', () => L.ldamLoss(s, y, countsOf(5), { scale: 0 }), /options\.scale/],
      ['maxMargin −1', () => L.ldamLoss(s, y, countsOf(5), { maxMargin: -1 }), /options\.maxMargin/],
    ],
    softTargetCrossEntropy: ({ s, soft }) => [
      ['typo check', () => L.softTargetCrossEntropy(s, soft, { check: true } as never), /options\.check/],
      ['NaN target', () => L.softTargetCrossEntropy(s, withValue(soft, Number.NaN)), /^targets$/],
      ['negative target', () => L.softTargetCrossEntropy(s, withValue(soft, -0.2)), /^targets$/],
    ],
    splcLoss: ({ s }) => [
      [
        'typo change_epoch',
        () => L.splcLoss(s, oneHot(), { epoch: 1, change_epoch: 2 } as never),
        /options\.change_epoch/,
      ],
      ['tau 1.5', () => L.splcLoss(s, oneHot(), { epoch: 1, tau: 1.5 }), /options\.tau/],
      ['gamma −1', () => L.splcLoss(s, oneHot(), { epoch: 1, gamma: -1 }), /options\.gamma/],
    ],
    clkdLoss: ({ s, t }) => [
      ['instanceWeight −1', () => L.clkdLoss(s, t, { instanceWeight: -1 }), /options\.instanceWeight/],
      ['classWeight −1', () => L.clkdLoss(s, t, { classWeight: -1 }), /options\.classWeight/],
      ['correlationWeight −0.4', () => L.clkdLoss(s, t, { correlationWeight: -0.4 }), /options\.correlationWeight/],
      ["correlation 'classes'", () => L.clkdLoss(s, t, { correlation: 'classes' as 'class' }), /options\.correlation/],
      ["normalizer 'rows'", () => L.clkdLoss(s, t, { normalizer: 'rows' as 'batch' }), /options\.normalizer/],
      ['typo corelation', () => L.clkdLoss(s, t, { corelation: 'class' } as never), /options\.corelation/],
    ],
    classCorrelationLoss: ({ s, t }) => [
      [
        "correlation 'samples'",
        () => L.classCorrelationLoss(s, t, { correlation: 'samples' as 'sample' }),
        /options\.correlation/,
      ],
      [
        'squaredNorm "yes"',
        () => L.classCorrelationLoss(s, t, { squaredNorm: 'yes' as never }),
        /options\.squaredNorm/,
      ],
      [
        'typo weight',
        () => L.classCorrelationLoss(s, t, { correlationWeight: 1 } as never),
        /options\.correlationWeight/,
      ],
    ],
    instanceLogitLoss: ({ s, t }) => [
      ['typo', () => L.instanceLogitLoss(s, t, { temperature: 1 } as never), /options\.temperature/],
      ['shape mismatch', () => L.instanceLogitLoss(s, tf.zeros([4, 6]) as tf.Tensor2D), /teacher/],
    ],
    classLogitLoss: ({ s, t }) => [
      ['typo', () => L.classLogitLoss(s, t, { checkFinit: true } as never), /options\.checkFinit/],
      ['rank 3 student', () => L.classLogitLoss(tf.zeros([4, 5, 1]) as never, t), /student/],
    ],
    contextualLoss: () => [
      ['typo', () => L.contextualLoss(tokens(), tokens(), { sampleTokens: 4 } as never), /options\.sampleTokens/],
      ['rank 2 tokens', () => L.contextualLoss(tf.zeros([2, 3]) as never, tokens()), /studentTokens/],
    ],
    trgLoss: () => [
      [
        'typo sample_tokens',
        () => L.trgLoss(tokens(), tokens(), { sample_tokens: 4 } as never),
        /options\.sample_tokens/,
      ],
      [
        'nested typo weights.globl',
        () => L.trgLoss(tokens(), tokens(), { weights: { globl: 1 } } as never),
        /options\.weights\.globl/,
      ],
      ['negative weight', () => L.trgLoss(tokens(), tokens(), { weights: { local: -1 } }), /options\.weights\.local/],
      ['k 0', () => L.trgLoss(tokens(), tokens(), { k: 0 }), /options\.k/],
      ["sigma 'max'", () => L.trgLoss(tokens(), tokens(), { sigma: 'max' as 'auto' }), /options\.sigma/],
    ],
    trgTemperature: () => [
      ['typo begin', () => L.trgTemperature(1, 10, { begin: 1 } as never), /options\.begin/],
      ['end 0', () => L.trgTemperature(1, 10, { end: 0 }), /options\.end/],
      ['epochs 0', () => L.trgTemperature(1, 0), /^epochs$/],
    ],
  };

  interface Tensors {
    s: tf.Tensor2D;
    t: tf.Tensor2D;
    y: tf.Tensor1D;
    soft: tf.Tensor2D;
  }
  const withValue = (x: tf.Tensor2D, v: number) => {
    const values = x.arraySync();
    (values[1] as number[])[2] = v;
    return tf.tensor2d(values);
  };
  const oneHot = () =>
    tf.tensor2d([
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 1, 0],
    ]);
  const tokens = () => tf.ones([2, 4, 3]) as tf.Tensor3D;

  let total = 0;
  for (const [name, make] of Object.entries(tries)) {
    it(`${name}`, () => {
      const tensors: Tensors = { s: logitsOf(4, 5), t: logitsOf(4, 5), y: labelsOf(4, 5), soft: softTargetsOf(4, 5) };
      tf.tidy(() => {
        for (const [what, call, argument] of make(tensors)) {
          let error: unknown;
          try {
            call();
          } catch (e) {
            error = e;
          }
          expect(error, `${name}: ${what}`).toBeInstanceOf(DistilleryError);
          expect((error as DistilleryError).argument, `${name}: ${what}`).toMatch(argument);
          expect(() => {
            throw error;
          }).toThrowError(argument.source.replace(/[\^$]/g, '').replace(/\\\./g, '.'));
          total++;
        }
      });
      tf.dispose(Object.values(tensors));
    });
  }

  it('covers every exported function of @distillery/losses', () => {
    const functions = Object.entries(L)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect(Object.keys(tries).sort()).toEqual(functions);
    expect(total).toBeGreaterThanOrEqual(60);
  });
});
