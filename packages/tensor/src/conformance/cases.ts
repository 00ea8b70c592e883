import * as tf from '@tensorflow/tfjs-core';
import { klDivergence } from '../numerics/kl-divergence';
import { maskTargetLogits } from '../numerics/non-target';
import { gatherByOneHot, oneHotFloat } from '../numerics/one-hot';
import { stopGradient } from '../numerics/stop-gradient';
import { logSoftmaxWithTemperature, softmaxWithTemperature } from '../numerics/temperature-softmax';
import { Rng } from '../random/rng';
import { randomNormal, randomUniform } from '../random/tensors';

/** One conformance case: builds its inputs from a fixed seed and returns named outputs (values and gradients). */
export interface ConformanceCase {
  name: string;
  run(): Record<string, tf.Tensor>;
}

const normal = (shape: number[], seed: number, std = 1) => randomNormal(shape, new Rng(seed), { std });
const labelsFor = (n: number, c: number, seed: number) => {
  const rng = new Rng(seed);
  return tf.tensor1d(
    Array.from({ length: n }, () => rng.int(c)),
    'int32',
  );
};
/** Fixed, non-trivial upstream weights so every gradient entry is exercised. */
const weights = (shape: number[], seed: number) => randomUniform(shape, new Rng(seed), { min: -1, max: 1 });

function gradsOf(f: (...xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[], names: string[]): Record<string, tf.Tensor> {
  const { value, grads } = tf.valueAndGrads(f)(xs);
  const out: Record<string, tf.Tensor> = { value };
  names.forEach((name, i) => {
    out[`grad_${name}`] = grads[i] as tf.Tensor;
  });
  return out;
}

export const conformanceCases: ConformanceCase[] = [
  {
    name: 'matMul',
    run: () => {
      const a = normal([16, 32], 1);
      const b = normal([32, 8], 2);
      const w = weights([16, 8], 3);
      return gradsOf((x, y) => tf.sum(tf.mul(tf.matMul(x, y), w)), [a, b], ['a', 'b']);
    },
  },
  {
    name: 'batchMatMulTransposed',
    run: () => {
      const a = normal([3, 7, 5], 34);
      const b = normal([3, 6, 7], 35);
      return {
        tA_tB: tf.matMul(a, b, true, true),
        tA: tf.matMul(a, tf.transpose(b, [0, 2, 1]), true, false),
        tB: tf.matMul(tf.transpose(a, [0, 2, 1]), b, false, true),
        fused: tf.fused.matMul({
          a: tf.reshape(a, [21, 5]),
          b: normal([4, 5], 36),
          transposeB: true,
          bias: normal([4], 37),
          activation: 'relu',
        }),
      };
    },
  },
  {
    name: 'softmaxWithTemperature',
    run: () => {
      const z = normal([8, 10], 4, 3);
      const w = weights([8, 10], 5);
      return {
        softmax: softmaxWithTemperature(z, 4),
        ...gradsOf((x) => tf.sum(tf.mul(logSoftmaxWithTemperature(x, 4), w)), [z], ['logits']),
      };
    },
  },
  {
    name: 'klDivergence',
    run: () => {
      const s = normal([8, 10], 6, 2);
      const t = softmaxWithTemperature(normal([8, 10], 7, 2), 4);
      return gradsOf(
        (x) => tf.mul(klDivergence(t, logSoftmaxWithTemperature(x, 4)), 16) as tf.Scalar,
        [s],
        ['student'],
      );
    },
  },
  {
    name: 'nonTargetSoftmax',
    run: () => {
      const z = normal([8, 10], 8, 2);
      const mask = oneHotFloat(labelsFor(8, 10, 9), 10);
      const w = weights([8, 10], 10);
      return gradsOf(
        (x) => tf.sum(tf.mul(tf.logSoftmax(maskTargetLogits(x as tf.Tensor2D, mask)), tf.mul(w, tf.sub(1, mask)))),
        [z],
        ['logits'],
      );
    },
  },
  {
    name: 'gatherByOneHot',
    run: () => {
      const z = normal([8, 10], 11);
      const mask = oneHotFloat(labelsFor(8, 10, 12), 10);
      return gradsOf((x) => tf.sum(tf.square(gatherByOneHot(x as tf.Tensor2D, mask))), [z], ['x']);
    },
  },
  {
    name: 'extremeLogits',
    run: () => {
      const z = tf.mul(tf.sign(normal([4, 6], 13)), 1e4);
      const w = weights([4, 6], 14);
      return gradsOf((x) => tf.sum(tf.mul(tf.logSoftmax(x), w)), [z], ['logits']);
    },
  },
  {
    name: 'conv2dSame',
    run: () => {
      const x = normal([2, 8, 8, 3], 15);
      const f = normal([3, 3, 3, 4], 16, 0.2);
      const w = weights([2, 8, 8, 4], 17);
      return gradsOf(
        (a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), w)),
        [x, f],
        ['x', 'filter'],
      );
    },
  },
  {
    name: 'conv2dStride2Valid',
    run: () => {
      const x = normal([2, 9, 9, 4], 18);
      const f = normal([3, 3, 4, 5], 19, 0.2);
      const w = weights([2, 4, 4, 5], 20);
      return gradsOf(
        (a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'valid'), w)),
        [x, f],
        ['x', 'filter'],
      );
    },
  },
  {
    name: 'conv2dStride2Same',
    run: () => {
      const x = normal([2, 8, 7, 3], 38);
      const f = normal([3, 3, 3, 4], 39, 0.2);
      const w = weights([2, 4, 4, 4], 40);
      return gradsOf(
        (a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), w)),
        [x, f],
        ['x', 'filter'],
      );
    },
  },
  {
    name: 'conv2dEvenKernelStride3',
    run: () => {
      const x = normal([1, 11, 10, 2], 41);
      const f = normal([4, 2, 2, 3], 42, 0.2);
      const w = weights([1, 4, 4, 3], 43);
      return gradsOf(
        (a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 3, 'same'), w)),
        [x, f],
        ['x', 'filter'],
      );
    },
  },
  {
    name: 'depthwiseConv2d',
    run: () => {
      const x = normal([2, 6, 6, 3], 21);
      const f = normal([3, 3, 3, 2], 22, 0.2);
      const w = weights([2, 6, 6, 6], 23);
      return gradsOf(
        (a, b) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), w)),
        [x, f],
        ['x', 'filter'],
      );
    },
  },
  {
    name: 'gatherRows',
    run: () => {
      const table = normal([10, 4], 24);
      const ids = tf.tensor1d([3, 1, 3, 9, 0, 3], 'int32');
      const w = weights([6, 4], 25);
      return gradsOf((t) => tf.sum(tf.mul(tf.gather(t, ids), w)), [table], ['table']);
    },
  },
  {
    name: 'comparisonMask',
    run: () => {
      const x = normal([5, 7], 26);
      return gradsOf((a) => tf.sum(tf.mul(tf.cast(tf.greater(a, 0.1), 'float32'), tf.square(a))), [x], ['x']);
    },
  },
  {
    name: 'geluErf',
    run: () => {
      const x = normal([6, 9], 27, 2);
      const w = weights([6, 9], 28);
      const gelu = (a: tf.Tensor) => tf.mul(tf.mul(a, 0.5), tf.add(1, tf.erf(tf.div(a, Math.SQRT2))));
      return gradsOf((a) => tf.sum(tf.mul(gelu(a), w)), [x], ['x']);
    },
  },
  {
    name: 'layerNorm',
    run: () => {
      const x = normal([4, 5, 12], 29, 3);
      const w = weights([4, 5, 12], 30);
      const ln = (a: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, -1, true);
        return tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-6)));
      };
      return gradsOf((a) => tf.sum(tf.mul(ln(a), w)), [x], ['x']);
    },
  },
  {
    name: 'addNManyInputs',
    run: () => {
      // 33 terms: more than a WebGPU shader may bind at once (see kernels/chunked-add-n.ts).
      const terms = Array.from({ length: 33 }, (_, i) => normal([3, 4], 100 + i));
      return gradsOf(
        (...xs) => tf.sum(tf.mul(tf.addN(xs), weights([3, 4], 99))),
        terms.slice(0, 9),
        Array.from({ length: 9 }, (_, i) => `t${i}`),
      );
    },
  },
  {
    name: 'addNSum',
    run: () => ({ value: tf.addN(Array.from({ length: 33 }, (_, i) => normal([5], 200 + i))) }),
  },
  {
    name: 'einsum',
    run: () => ({ value: tf.einsum('ij,jk->ik', normal([4, 6], 31), normal([6, 3], 32)) }),
  },
  {
    name: 'stopGradient',
    run: () => {
      const x = normal([3, 4], 33);
      return gradsOf((a) => tf.sum(tf.mul(stopGradient(tf.square(a)), a)), [x], ['x']);
    },
  },
  {
    name: 'seededUniform',
    run: () => ({ value: randomUniform([64], new Rng(42)) }),
  },
];
