import { splitByCutpoints } from '@distillery/samplers';
import { checkNumber, checkOptions, describeValue, invalid, type tf } from '@distillery/tensor';
import { accuracy, confusionMatrix, groupAccuracy, perClassAccuracy, predictClassesAsync } from '@distillery/train';

/** What evaluateClassifier reads from a dataset: its size, a batch of images and its labels. */
export interface LabelledDataset {
  readonly length: number;
  labels(): Int32Array;
  batch(indices: ArrayLike<number>): { images: tf.Tensor; labels?: tf.Tensor };
}

export interface EvaluateClassifierOptions {
  numClasses: number;
  /**
   * Head / mid / tail cut points [a, b]: classes [0, a) / [a, b) / [b, C) (class 0 the most frequent). When given,
   * the result has `head`, `mid` and `tail` accuracies (the mean per-class accuracy of each group).
   */
  cutpoints?: readonly [number, number];
  /** Predictions to compare with (e.g. the teacher's): the result's `agreement` is the fraction predicted alike. */
  reference?: ArrayLike<number>;
  /** Images per forward pass (default 250). */
  batchSize?: number;
}

export interface ClassifierEvaluation {
  /** The predicted class of every test image. */
  predicted: Int32Array;
  /** Top-1 accuracy. */
  overall: number;
  head?: number;
  mid?: number;
  tail?: number;
  /** Accuracy of each class (NaN for a class without test images). */
  perClass: number[];
  /** Counts, row = true class, column = predicted class. */
  confusion: number[][];
  /** Fraction of images predicted as in `reference`. */
  agreement?: number;
}

/**
 * A classifier's test numbers in one call: overall, head / mid / tail, per-class accuracy and the confusion matrix,
 * from `forward`'s logits read asynchronously (no synchronous read: WebGPU in browsers).
 *
 *     const r = await evaluateClassifier(test, (x) => model.forward(x).logits, { numClasses: 10, cutpoints: [3, 7] });
 */
export async function evaluateClassifier(
  dataset: LabelledDataset,
  forward: (images: tf.Tensor4D) => tf.Tensor,
  options: EvaluateClassifierOptions,
): Promise<ClassifierEvaluation> {
  const o = checkOptions<EvaluateClassifierOptions>(options ?? null, {
    numClasses: true,
    cutpoints: true,
    reference: true,
    batchSize: true,
  });
  const numClasses = checkNumber(o.numClasses, 'options.numClasses', { min: 1, integer: true });
  if (!dataset || typeof dataset.labels !== 'function' || typeof dataset.batch !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'dataset', 'a dataset with labels() and batch(indices)', describeValue(dataset));
  }
  if (typeof forward !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'forward', 'a function (images) => logits [N, C]', describeValue(forward));
  }
  // Checked before the forward passes, so a bad option costs nothing.
  let groups: { head: number[]; mid: number[]; tail: number[] } | undefined;
  if (o.cutpoints !== undefined) {
    const c = o.cutpoints;
    if (!Array.isArray(c) || c.length !== 2) {
      throw invalid('INVALID_ARGUMENT', 'options.cutpoints', '[a, b] with 0 ≤ a ≤ b ≤ numClasses', describeValue(c));
    }
    const a = checkNumber(c[0], 'options.cutpoints[0]', { min: 0, max: numClasses, integer: true });
    checkNumber(c[1], 'options.cutpoints[1]', { min: a, max: numClasses, integer: true });
    groups = splitByCutpoints(numClasses, c);
  }
  if (o.reference !== undefined && (o.reference === null || o.reference.length !== dataset.length)) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.reference',
      `${dataset.length} predictions (one per image)`,
      o.reference === null ? 'null' : `${o.reference.length}`,
    );
  }
  const truth = dataset.labels();
  const predicted = await predictClassesAsync(dataset, (x) => forward(x as tf.Tensor4D), {
    batchSize: o.batchSize ?? 250,
  });
  const result: ClassifierEvaluation = {
    predicted,
    overall: accuracy(truth, predicted),
    perClass: perClassAccuracy(truth, predicted, numClasses),
    confusion: confusionMatrix(truth, predicted, numClasses),
  };
  if (groups) Object.assign(result, groupAccuracy(truth, predicted, groups, numClasses));
  if (o.reference !== undefined) {
    let agree = 0;
    for (let i = 0; i < predicted.length; i++) agree += predicted[i] === o.reference[i] ? 1 : 0;
    result.agreement = agree / predicted.length;
  }
  return result;
}
