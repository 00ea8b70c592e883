import {
  labelSmoothing,
  mixupTargets,
  smoothedTargetLabel,
  teacherSoftLabels,
  uskdRankScores,
  uskdTargetColumns,
  zipfNonTargetLabels,
} from '@distillery/soft-labels';
import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

const close = (actual: ArrayLike<number>, expected: number[], digits = 6) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i] as number).toBeCloseTo(expected[i] as number, digits);
};

function expectError(fn: () => unknown, argument: string, code: string) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).argument).toBe(argument);
    expect((e as DistilleryError).code).toBe(code);
    return;
  }
  throw new Error(`expected a DistilleryError naming ${argument}`);
}

describe('zipfNonTargetLabels', () => {
  it('reproduces a worked example by hand (C = 4, label 0, ranking order [0, 2, 1, 3])', () => {
    // order [0, 2, 1, 3] ⇒ pos [0, 2, 1, 3] ⇒ zipf [1, 1/3, 1/2, 1/4] ⇒ ẑ = [0, 4/13, 6/13, 3/13]
    const z = zipfNonTargetLabels(tf.tensor2d([[4, 2, 3, 1]]), tf.tensor1d([0], 'int32'));
    close(z.dataSync(), [0, 4 / 13, 6 / 13, 3 / 13]);
  });

  it('ranks by the inverse permutation (score [0.1, 0.9, 0.5, 0.3] ⇒ pos [3, 0, 1, 2]) with the label taking part', () => {
    // label 1 is ranked first, so the non-target zipf values are 1/4, 1/2, 1/3 (classes 0, 2, 3)
    const z = zipfNonTargetLabels(tf.tensor2d([[0.1, 0.9, 0.5, 0.3]]), tf.tensor1d([1], 'int32'));
    const sum = 1 / 4 + 1 / 2 + 1 / 3;
    close(z.dataSync(), [1 / 4 / sum, 0, 1 / 2 / sum, 1 / 3 / sum]);
    // a label ranked last: some non-target class gets zipf weight 1
    const z2 = zipfNonTargetLabels(tf.tensor2d([[0.1, 0.9, 0.5, 0.3]]), tf.tensor1d([0], 'int32'));
    const sum2 = 1 + 1 / 2 + 1 / 3;
    close(z2.dataSync(), [0, 1 / sum2, 1 / 2 / sum2, 1 / 3 / sum2]);
  });

  it('drops the top-2 classes of soft targets and honours the exponent', () => {
    const soft = tf.tensor2d([[0.05, 0.6, 0.05, 0.3]]);
    const z = zipfNonTargetLabels(tf.tensor2d([[1, 4, 3, 2]]), soft, { exponent: 2 });
    // pos = [3, 0, 1, 2]; non-target classes 0, 2: 1/16 and 1/4
    const sum = 1 / 16 + 1 / 4;
    close(z.dataSync(), [1 / 16 / sum, 0, 1 / 4 / sum, 0]);
  });

  it('rejects a single class and labels out of range', () => {
    expectError(
      () => zipfNonTargetLabels(tf.tensor2d([[1], [2]]), tf.tensor1d([0, 0], 'int32')),
      'rankScores',
      'OUT_OF_RANGE',
    );
    expectError(() => zipfNonTargetLabels(tf.tensor2d([[1, 2]]), tf.tensor1d([2], 'int32')), 'labels', 'OUT_OF_RANGE');
    expectError(
      () => zipfNonTargetLabels(tf.tensor2d([[1, 2]]), tf.tensor1d([0, 1], 'int32')),
      'labels',
      'SHAPE_MISMATCH',
    );
  });
});

describe('smoothedTargetLabel', () => {
  it('is s_t² + 1 − mean_n(s_t²) for hard labels (hand-computed)', () => {
    // row 0: softmax([0, ln 3]) = [1/4, 3/4], label 1 ⇒ s_t = 3/4; row 1: [1/2, 1/2], label 0 ⇒ 1/2
    const p = smoothedTargetLabel(
      tf.tensor2d([
        [0, Math.log(3)],
        [0, 0],
      ]),
      tf.tensor1d([1, 0], 'int32'),
    );
    const m = (9 / 16 + 1 / 4) / 2;
    expect(p.shape).toEqual([2, 1]);
    close(p.dataSync(), [9 / 16 + 1 - m, 1 / 4 + 1 - m]);
  });

  it('uses the top-2 (value, class) pairs of soft targets and zeroes value-0 columns', () => {
    const student = tf.tensor2d([
      [0, 0, 0],
      [0, Math.log(2), 0],
    ]);
    const soft = tf.tensor2d([
      [0, 0.7, 0.3],
      [1, 0, 0],
    ]);
    const p = smoothedTargetLabel(student, soft);
    // row 0: labels (1, 2), s = (1/3, 1/3); row 1: labels (0, 1) (tie at 0 → lower index), s = (1/4, 1/2)
    const c0 = (1 / 9 + 1 / 16) / 2;
    const c1 = (1 / 9 + 1 / 4) / 2;
    close(p.dataSync(), [1 / 9 + 0.7 - c0, 1 / 9 + 0.3 - c1, 1 / 16 + 1 - c0, 0]);
  });

  it('is a constant: no gradient reaches the student through it', () => {
    const z = tf.variable(tf.tensor2d([[1, 2, 3]]));
    // the tape finds no path from z to the result at all (a true detach, not a zero-valued gradient)
    expect(() =>
      tf.variableGrads(() => tf.sum(smoothedTargetLabel(z, tf.tensor1d([0], 'int32'))) as tf.Scalar, [z]),
    ).toThrow(/connection/);
  });
});

describe('uskdRankScores', () => {
  it('reproduces the reference quirk: log-softmax of the final head in the second term', () => {
    const student = tf.tensor2d([[1, 0.5, -1]]);
    const weak = tf.tensor2d([[0.2, 0.1, 0.3]]);
    const score = uskdRankScores(student, weak, tf.tensor1d([0], 'int32'));
    const w = tf.softmax(weak).dataSync();
    const ls = tf.logSoftmax(student).dataSync();
    const expected = [0, 1, 2].map((c) => w[c]! / (1 - w[0]! + 1e-6) + ls[c]! / (1 - ls[0]! + 1e-6));
    close(score.dataSync(), expected, 5);
  });
});

describe('labelSmoothing, mixupTargets, teacherSoftLabels', () => {
  it('labelSmoothing is (1 − ε)·onehot + ε/C, also for soft targets', () => {
    close(
      labelSmoothing(tf.tensor1d([2, 0], 'int32'), 4, 0.1).dataSync(),
      [0.025, 0.025, 0.925, 0.025, 0.925, 0.025, 0.025, 0.025],
    );
    close(labelSmoothing(tf.tensor2d([[0.5, 0.5]]), 2, 0.1).dataSync(), [0.5, 0.5]);
    expectError(() => labelSmoothing(tf.tensor1d([4], 'int32'), 4, 0.1), 'labels', 'OUT_OF_RANGE');
    expectError(() => labelSmoothing(tf.tensor1d([0], 'int32'), 4, 1.5), 'epsilon', 'OUT_OF_RANGE');
  });

  it('mixupTargets mixes each row with the reversed batch (timm mixup_target)', () => {
    const y = mixupTargets(tf.tensor1d([0, 1, 2], 'int32'), 3, { lambda: 0.7, smoothing: 0 });
    close(y.dataSync(), [0.7, 0, 0.3, 0, 1, 0, 0.3, 0, 0.7]);
    const ys = mixupTargets(tf.tensor1d([0, 1], 'int32'), 2, { lambda: 1 });
    close(ys.dataSync(), [0.95, 0.05, 0.05, 0.95]);
    expectError(() => mixupTargets(tf.tensor1d([0], 'int32'), 2, { lambda: 2 }), 'options.lambda', 'OUT_OF_RANGE');
  });

  it('teacherSoftLabels is softmax(z/T), detached', () => {
    close(teacherSoftLabels(tf.tensor2d([[0, 2 * Math.log(3)]]), { temperature: 2 }).dataSync(), [0.25, 0.75]);
    const z = tf.variable(tf.tensor2d([[1, 2, 3]]));
    expect(() => tf.variableGrads(() => tf.sum(tf.square(teacherSoftLabels(z))) as tf.Scalar, [z])).toThrow(
      /connection/,
    );
    expectError(() => teacherSoftLabels(z, { temperature: 0 }), 'options.temperature', 'OUT_OF_RANGE');
    expectError(
      () => teacherSoftLabels(tf.tensor2d([[Number.NaN, 1]]), { checkFinite: true }),
      'teacher',
      'NON_FINITE',
    );
  });

  it('uskdTargetColumns gives k = 1 for labels and the top-2 for soft targets', () => {
    const hard = uskdTargetColumns(tf.tensor1d([2, 0], 'int32'), 3);
    expect(hard.k).toBe(1);
    expect(Array.from(hard.labels.dataSync())).toEqual([2, 0]);
    const soft = uskdTargetColumns(tf.tensor2d([[0.1, 0.6, 0.3]]), 3);
    expect(soft.k).toBe(2);
    expect(Array.from(soft.labels.dataSync())).toEqual([1, 2]);
    close(soft.mask.dataSync(), [0, 1, 1]);
  });
});

describe('soft-labels allocate nothing that outlives them', () => {
  it('every function, 100 calls', async () => {
    const student = tf.randomNormal([8, 10]) as tf.Tensor2D;
    const weak = tf.randomNormal([8, 10]) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const soft = mixupTargets(labels, 10, { lambda: 0.6 });
    await assertNoTensorLeak(
      () => [
        smoothedTargetLabel(student, labels),
        smoothedTargetLabel(student, soft),
        tf.tidy(() => zipfNonTargetLabels(uskdRankScores(student, weak, soft), soft)),
        tf.tidy(() => zipfNonTargetLabels(uskdRankScores(student, weak, labels), labels)),
        labelSmoothing(labels, 10, 0.1),
        mixupTargets(labels, 10, { lambda: 0.3 }),
        teacherSoftLabels(student, { temperature: 4 }),
      ],
      100,
      'soft-labels',
    );
  });
});
