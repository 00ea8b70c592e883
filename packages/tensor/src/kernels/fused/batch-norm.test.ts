import { describe, expect, it } from 'vitest';
import { assertNoTensorLeak, registerKernels, tf } from '../../index';
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_KERNEL, composedBatchNormTrain, fusedBatchNormTrain } from './batch-norm';

/** |a − e| ≤ rtol·|e| + atol elementwise, naming the worst index. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol)) throw new Error(`index ${i}: got ${a}, expected ${e}`);
  }
}

/**
 * Float64 reference of training BatchNorm over the last axis: y, mean, biased var, and for the loss
 * Σ w·y + Σ u·mean + Σ v·var the gradients dx, dγ, dβ (the textbook formulas, summed term by term).
 */
function reference(x: number[], gamma: number[], beta: number[], w: number[], u: number[], v: number[], eps: number) {
  const c = gamma.length;
  const m = x.length / c;
  const mean = new Array<number>(c).fill(0);
  const variance = new Array<number>(c).fill(0);
  for (let i = 0; i < x.length; i++) mean[i % c] = (mean[i % c] as number) + (x[i] as number) / m;
  for (let i = 0; i < x.length; i++)
    variance[i % c] = (variance[i % c] as number) + ((x[i] as number) - (mean[i % c] as number)) ** 2 / m;
  const rstd = variance.map((s) => 1 / Math.sqrt(s + eps));
  const xhat = x.map((xi, i) => (xi - (mean[i % c] as number)) * (rstd[i % c] as number));
  const y = xhat.map((h, i) => h * (gamma[i % c] as number) + (beta[i % c] as number));
  const dbeta = new Array<number>(c).fill(0);
  const dgamma = new Array<number>(c).fill(0);
  for (let i = 0; i < x.length; i++) {
    dbeta[i % c] = (dbeta[i % c] as number) + (w[i] as number);
    dgamma[i % c] = (dgamma[i % c] as number) + (w[i] as number) * (xhat[i] as number);
  }
  const dx = x.map((xi, i) => {
    const j = i % c;
    const g = gamma[j] as number;
    const r = rstd[j] as number;
    const viaY =
      ((g * r) / m) * (m * (w[i] as number) - (dbeta[j] as number) - (xhat[i] as number) * (dgamma[j] as number));
    return viaY + (u[j] as number) / m + ((v[j] as number) * 2 * (xi - (mean[j] as number))) / m;
  });
  return { y, mean, variance, dx, dgamma, dbeta };
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const kernelsRun = async (f: () => tf.Tensor | tf.Tensor[]) => (await tf.profile(f)).kernelNames;

describe(`fused training BatchNorm (${process.env.DISTILLERY_TEST_BACKEND ?? 'cpu'})`, () => {
  registerKernels();
  for (const shape of [
    [8, 5, 7, 3], // odd sizes
    [32, 8, 8, 16], // m = 2048 rows
    [2, 1, 1, 5], // H = W = 1
    [1, 3, 2, 4], // N = 1
    [6, 4, 4, 1], // C = 1
    [2, 1], // m = 2, rank 2 (BatchNorm1d-style)
  ]) {
    it(`[${shape}]: y, mean, var (1e-5) and dx, dγ, dβ (1e-4) match float64 and the composed ops`, async () => {
      const c = shape[shape.length - 1] as number;
      const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 3), 0.5);
      const gamma = tf.randomNormal([c], 1, 0.3, 'float32', 2);
      const beta = tf.randomNormal([c], 0, 0.3, 'float32', 3);
      const w = tf.randomNormal(shape, 0, 1, 'float32', 4); // weights: dy is not constant
      const u = tf.randomNormal([c], 0, 1, 'float32', 5); // gradients reaching mean and var
      const v = tf.randomNormal([c], 0, 1, 'float32', 6);
      const eps = 1e-5;
      const ref = reference(values(x), values(gamma), values(beta), values(w), values(u), values(v), eps);
      const fused = fusedBatchNormTrain(x, gamma, beta, eps);
      const composed = composedBatchNormTrain(x, gamma, beta, eps);
      expect(fused.y.shape).toEqual(shape);
      expect(fused.mean.shape).toEqual([c]);
      expectClose(values(fused.y), ref.y, 1e-5, 1e-6);
      expectClose(values(fused.mean), ref.mean, 1e-5, 1e-6);
      expectClose(values(fused.variance), ref.variance, 1e-5, 1e-6);
      expectClose(values(fused.y), values(composed.y), 1e-5, 1e-5);
      const loss = (bn: typeof fusedBatchNormTrain) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const out = bn(a, g, b, eps);
        return tf.addN([tf.sum(tf.mul(out.y, w)), tf.sum(tf.mul(out.mean, u)), tf.sum(tf.mul(out.variance, v))]);
      };
      const fusedGrads = tf.grads(loss(fusedBatchNormTrain))([x, gamma, beta]);
      const composedGrads = tf.grads(loss(composedBatchNormTrain))([x, gamma, beta]);
      expectClose(values(fusedGrads[0] as tf.Tensor), ref.dx, 1e-4, 1e-5);
      expectClose(values(fusedGrads[1] as tf.Tensor), ref.dgamma, 1e-4, 1e-5);
      expectClose(values(fusedGrads[2] as tf.Tensor), ref.dbeta, 1e-4, 1e-5);
      // The composed ops sum in float32 over up to 2048 rows: compared within a looser bound.
      expectClose(values(fusedGrads[0] as tf.Tensor), values(composedGrads[0] as tf.Tensor), 1e-3, 1e-4);
      expect(await kernelsRun(() => Object.values(fusedBatchNormTrain(x, gamma, beta, eps)))).toEqual([
        BATCH_NORM_KERNEL,
      ]);
      const backward = await kernelsRun(() => tf.grads(loss(fusedBatchNormTrain))([x, gamma, beta]));
      expect(backward).toContain(BATCH_NORM_GRAD_KERNEL);
      expect(backward).not.toContain('Rsqrt');
      tf.dispose([x, gamma, beta, w, u, v, ...Object.values(fused), ...Object.values(composed)]);
      tf.dispose([...fusedGrads, ...composedGrads]);
    });
  }

  it('a mean far from zero (x = 1000 + N(0, 1)): statistics and y still match float64', () => {
    const x = tf.add(tf.randomNormal([16, 6, 6, 4], 0, 1, 'float32', 8), 1000);
    const gamma = tf.randomNormal([4], 1, 0.3, 'float32', 2);
    const beta = tf.randomNormal([4], 0, 0.3, 'float32', 3);
    const zeros = new Array<number>(x.size).fill(0);
    const ref = reference(values(x), values(gamma), values(beta), zeros, [0, 0, 0, 0], [0, 0, 0, 0], 1e-5);
    const { y, mean, variance } = fusedBatchNormTrain(x, gamma, beta, 1e-5);
    expectClose(values(mean), ref.mean, 1e-6, 0);
    expectClose(values(variance), ref.variance, 1e-5, 0);
    expectClose(values(y), ref.y, 1e-5, 1e-5);
    tf.dispose([x, gamma, beta, y, mean, variance]);
  });

  it('one value per channel: variance 0, y = β, dx = 0 (the layer above rejects it, as PyTorch does)', () => {
    const x = tf.tensor4d([3, -2], [1, 1, 1, 2]);
    const gamma = tf.tensor1d([2, 3]);
    const beta = tf.tensor1d([0.5, -1]);
    const { y, mean, variance } = fusedBatchNormTrain(x, gamma, beta, 1e-5);
    expect(values(y)).toEqual([0.5, -1]);
    expect(values(mean)).toEqual([3, -2]);
    expect(values(variance)).toEqual([0, 0]);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(fusedBatchNormTrain(a, gamma, beta, 1e-5).y))(x);
    expect(values(dx)).toEqual([0, 0]);
    tf.dispose([x, gamma, beta, y, mean, variance, dx]);
  });

  it('a training step through it leaks no tensor', async () => {
    const x = tf.randomNormal([4, 3, 3, 8], 0, 1, 'float32', 7);
    const gamma = tf.variable(tf.ones([8]), true, 'fused_bn_gamma');
    const beta = tf.variable(tf.zeros([8]), true, 'fused_bn_beta');
    await assertNoTensorLeak(
      () => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.square(fusedBatchNormTrain(x, gamma, beta, 1e-5).y)) as tf.Scalar,
        );
        tf.dispose([value, ...Object.values(grads)]);
      },
      3,
      'fused BatchNorm step',
    );
    tf.dispose([x, gamma, beta]);
  });
});
