import * as S from '@distillery/soft-labels';
import { DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

/**
 * The bad inputs of the reliability sweep (issue 13) for @distillery/soft-labels, one `it` per public function:
 * unknown (typo'd) option keys, out-of-range numbers, labels out of range, NaN / negative soft targets. Each must be
 * a DistilleryError naming the argument.
 */
interface Inputs {
  logits: tf.Tensor2D;
  weak: tf.Tensor2D;
  labels: tf.Tensor1D;
  soft: tf.Tensor2D;
}
type Try = [what: string, call: () => unknown, argument: RegExp];

const withValue = (x: tf.Tensor2D, v: number) => {
  const values = x.arraySync();
  (values[1] as number[])[2] = v;
  return tf.tensor2d(values);
};

const tries: Record<string, (x: Inputs) => Try[]> = {
  teacherSoftLabels: ({ logits }) => [
    ['typo temprature', () => S.teacherSoftLabels(logits, { temprature: 2 } as never), /options\.temprature/],
    ['temperature 0', () => S.teacherSoftLabels(logits, { temperature: 0 }), /options\.temperature/],
    ['temperature −1', () => S.teacherSoftLabels(logits, { temperature: -1 }), /options\.temperature/],
    ['options a number', () => S.teacherSoftLabels(logits, 3 as never), /^options$/],
    ['int32 logits', () => S.teacherSoftLabels(tf.zeros([2, 3], 'int32') as tf.Tensor2D), /^teacher$/],
  ],
  labelSmoothing: ({ labels, soft }) => [
    ['epsilon 1.5', () => S.labelSmoothing(labels, 5, 1.5), /^epsilon$/],
    ['label 7 of 5', () => S.labelSmoothing(tf.tensor1d([0, 7], 'int32'), 5, 0.1), /^labels$/],
    ['numClasses 1', () => S.labelSmoothing(labels, 1, 0.1), /^numClasses$/],
    ['NaN soft target', () => S.labelSmoothing(withValue(soft, Number.NaN), 5, 0.1), /^labels$/],
    ['negative soft target', () => S.labelSmoothing(withValue(soft, -0.3), 5, 0.1), /^labels$/],
    ['soft target of the wrong width', () => S.labelSmoothing(soft, 6, 0.1), /^labels$/],
  ],
  mixupTargets: ({ labels }) => [
    ['no lambda', () => S.mixupTargets(labels, 5, {} as never), /options\.lambda/],
    ['lambda 1.2', () => S.mixupTargets(labels, 5, { lambda: 1.2 }), /options\.lambda/],
    [
      'typo label_smoothing',
      () => S.mixupTargets(labels, 5, { lambda: 0.5, label_smoothing: 0.1 } as never),
      /options\.label_smoothing/,
    ],
    ['smoothing −0.1', () => S.mixupTargets(labels, 5, { lambda: 0.5, smoothing: -0.1 }), /options\.smoothing/],
    ['label 5 of 5', () => S.mixupTargets(tf.tensor1d([0, 5], 'int32'), 5, { lambda: 0.5 }), /^labels$/],
  ],
  smoothedTargetLabel: ({ logits, soft }) => [
    ['label 9', () => S.smoothedTargetLabel(logits, tf.tensor1d([0, 9, 1, 2], 'int32')), /^labels$/],
    ['NaN soft target', () => S.smoothedTargetLabel(logits, withValue(soft, Number.NaN)), /^labels$/],
    ['negative soft target', () => S.smoothedTargetLabel(logits, withValue(soft, -1)), /^labels$/],
    ['3 labels for 4 rows', () => S.smoothedTargetLabel(logits, tf.tensor1d([0, 1, 2], 'int32')), /^labels$/],
  ],
  uskdRankScores: ({ logits, weak, labels, soft }) => [
    ['weak of another shape', () => S.uskdRankScores(logits, tf.zeros([4, 6]) as tf.Tensor2D, labels), /weakLogits/],
    ['NaN soft target', () => S.uskdRankScores(logits, weak, withValue(soft, Number.NaN)), /^labels$/],
    ['negative label', () => S.uskdRankScores(logits, weak, tf.tensor1d([0, -1, 1, 2], 'int32')), /^labels$/],
  ],
  zipfNonTargetLabels: ({ logits, labels, soft }) => [
    ['typo exp', () => S.zipfNonTargetLabels(logits, labels, { exp: 2 } as never), /options\.exp/],
    ['exponent −1', () => S.zipfNonTargetLabels(logits, labels, { exponent: -1 }), /options\.exponent/],
    ['NaN soft target', () => S.zipfNonTargetLabels(logits, withValue(soft, Number.NaN)), /^labels$/],
    ['negative soft target', () => S.zipfNonTargetLabels(logits, withValue(soft, -0.1)), /^labels$/],
  ],
  uskdTargetColumns: ({ labels, soft }) => [
    ['numClasses 2.5', () => S.uskdTargetColumns(labels, 2.5), /^numClasses$/],
    ['label 5 of 5', () => S.uskdTargetColumns(tf.tensor1d([5], 'int32'), 5), /^labels$/],
    ['NaN soft target', () => S.uskdTargetColumns(withValue(soft, Number.NaN), 5), /^labels$/],
    ['batch size mismatch', () => S.uskdTargetColumns(soft, 5, 'labels', 3), /^labels$/],
  ],
  gatherColumns: ({ logits }) => [
    ['labels a number', () => S.gatherColumns(logits, 3 as never), /^labels$/],
    [
      'labels out of range',
      () => S.gatherColumns(logits, tf.tensor2d([[0], [5], [1], [2]], [4, 1], 'int32')),
      /^labels$/,
    ],
  ],
  disposeTargetColumns: () => [['not a TargetColumns', () => S.disposeTargetColumns({} as never), /^columns$/]],
  assertSoftTargets: ({ soft }) => [
    ['NaN', () => S.assertSoftTargets(withValue(soft, Number.NaN), 'targets'), /^targets$/],
    ['negative', () => S.assertSoftTargets(withValue(soft, -1), 'targets'), /^targets$/],
    ['rank 1', () => S.assertSoftTargets(tf.zeros([3]), 'targets'), /^targets$/],
    ['wrong shape', () => S.assertSoftTargets(soft, 'targets', [null, 6]), /^targets$/],
  ],
};

describe('bad inputs of the reliability sweep (every public function)', () => {
  let total = 0;
  for (const [name, make] of Object.entries(tries)) {
    it(name, () => {
      const inputs: Inputs = {
        logits: tf.randomNormal([4, 5]),
        weak: tf.randomNormal([4, 5]),
        labels: tf.tensor1d([0, 1, 2, 3], 'int32'),
        soft: S.mixupTargets(tf.tensor1d([0, 1, 2, 3], 'int32'), 5, { lambda: 0.7 }),
      };
      tf.tidy(() => {
        for (const [what, call, argument] of make(inputs)) {
          let error: unknown;
          try {
            call();
          } catch (e) {
            error = e;
          }
          expect(error, `${name}: ${what}`).toBeInstanceOf(DistilleryError);
          expect((error as DistilleryError).argument, `${name}: ${what}`).toMatch(argument);
          total++;
        }
      });
      tf.dispose(Object.values(inputs));
    });
  }

  it('covers every exported function of @distillery/soft-labels', () => {
    const functions = Object.entries(S)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect(Object.keys(tries).sort()).toEqual(functions);
    expect(total).toBeGreaterThanOrEqual(35);
  });
});
