// The two explanatory panels: USKD's Zipf soft labels of one digit, and a Sinkhorn transport plan.
import { loadDigits } from '@distillery/data';
import { sinkhorn } from '@distillery/ot';
import { uskdRankScores, zipfNonTargetLabels } from '@distillery/soft-labels';
import { createRng, tf } from '@distillery/tensor';

/**
 * A softmax-regression classifier on the 8×8 digits (64 → 10), trained full-batch with Adam for `steps` steps.
 * Returns its weights as plain arrays so they survive backend switches.
 */
function trainSoftmaxRegression(images, labels, steps, seed) {
  const rng = createRng(seed);
  const w = tf.variable(
    tf.tensor2d(
      Float32Array.from({ length: 640 }, () => rng.normal(0, 0.01)),
      [64, 10],
    ),
  );
  const b = tf.variable(tf.zeros([10]));
  const optimizer = tf.train.adam(0.05);
  const targets = tf.oneHot(labels, 10);
  for (let s = 0; s < steps; s++) {
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(targets, tf.add(tf.matMul(images, w), b)));
  }
  const out = { w: w.arraySync(), b: b.arraySync() };
  tf.dispose([w, b, targets]);
  optimizer.dispose();
  return out;
}

/** Sets up the digits, a student (60 steps) and a weak head (the same model after 3 steps). */
export function createSoftLabelDemo(seed = 0) {
  const digits = loadDigits();
  const n = digits.length;
  const trainCount = Math.floor(n * 0.8);
  const order = createRng(seed).permutation(n);
  const trainIdx = order.slice(0, trainCount);
  const heldOut = Array.from(order.slice(trainCount));
  const { images, labels } = digits.batch(trainIdx);
  const flat = images.reshape([trainCount, 64]);
  const student = trainSoftmaxRegression(flat, labels, 60, seed);
  const weak = trainSoftmaxRegression(flat, labels, 3, seed);
  tf.dispose([images, labels, flat]);

  const logitsOf = (model, x) => tf.add(tf.matMul(x, tf.tensor2d(model.w)), tf.tensor1d(model.b));
  let cursor = 0;
  return {
    /** The next held-out digit: its pixels, label, the student's probabilities and the Zipf non-target labels. */
    next() {
      const index = heldOut[cursor++ % heldOut.length];
      const { images: x, labels: y } = digits.batch([index]);
      const result = tf.tidy(() => {
        const flatX = x.reshape([1, 64]);
        const studentLogits = logitsOf(student, flatX);
        const weakLogits = logitsOf(weak, flatX);
        const scores = uskdRankScores(studentLogits, weakLogits, y);
        const zipf = zipfNonTargetLabels(scores, y);
        return {
          pixels: flatX.dataSync().slice(),
          probabilities: tf.softmax(studentLogits).dataSync().slice(),
          zipf: zipf.dataSync().slice(),
        };
      });
      const label = y.dataSync()[0];
      tf.dispose([x, y]);
      return { index, label, ...result };
    },
  };
}

/**
 * An imbalanced clustering-like OT problem: 36 points from 3 Gaussian blobs of sizes 22 / 10 / 4, uniform point
 * mass, cluster masses 60 / 28 / 12 %, squared-distance cost to the blob centres; solved by Sinkhorn (reg 0.05).
 */
export function transportPlanDemo(seed = 0) {
  const rng = createRng(seed + 7);
  const centres = [
    [0, 0],
    [3, 1],
    [1.2, 2.8],
  ];
  const sizes = [22, 10, 4];
  const points = [];
  sizes.forEach((size, c) => {
    for (let i = 0; i < size; i++)
      points.push([centres[c][0] + rng.normal(0, 0.8), centres[c][1] + rng.normal(0, 0.8)]);
  });
  const cost = points.map(([x, y]) => centres.map(([cx, cy]) => ((x - cx) ** 2 + (y - cy) ** 2) / 10));
  const b = [0.6, 0.28, 0.12];
  const costTensor = tf.tensor2d(cost);
  const result = sinkhorn(undefined, b, costTensor, { reg: 0.05 });
  const plan = result.plan.arraySync();
  tf.dispose([costTensor, result.plan]);
  // Rows = clusters, columns = points.
  const matrix = centres.map((_, c) => plan.map((row) => row[c]));
  const assigned = plan.map((row) => row.indexOf(Math.max(...row)));
  const clusterOf = (i) => (i < sizes[0] ? 0 : i < sizes[0] + sizes[1] ? 1 : 2);
  const correct = assigned.filter((a, i) => a === clusterOf(i)).length;
  return {
    matrix,
    rowLabels: centres.map((_, c) => `cluster ${c + 1} (b = ${b[c].toFixed(2)})`),
    separators: [sizes[0], sizes[0] + sizes[1]],
    iterations: result.iterations,
    marginalError: result.marginalError,
    correct,
    total: points.length,
  };
}
