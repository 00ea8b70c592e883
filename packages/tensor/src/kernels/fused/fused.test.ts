import { describe, expect, it } from 'vitest';
import { assertNoTensorLeak, registerKernels, tf } from '../../index';
import { simdGeluCalls } from '../wasm-simd/simd-gelu';
import { composedGelu, fusedGelu, GELU_KERNEL } from './gelu';
import { composedLayerNorm, fusedLayerNorm, LAYER_NORM_KERNEL } from './layer-norm';

/** |a − e| ≤ rtol·|e| + atol elementwise, naming the worst index. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol)) throw new Error(`index ${i}: got ${a}, expected ${e}`);
  }
}

/** dγ = Σ_rows w·x̂ and dβ = Σ_rows w in float64, with Σ|w·x̂| + Σ|w| per column (the float32 summation scale). */
function columnSums(x: number[], w: number[], d: number, eps: number) {
  const dgamma = new Array<number>(d).fill(0);
  const dbeta = new Array<number>(d).fill(0);
  const absSum = new Array<number>(d).fill(0);
  for (let o = 0; o < x.length; o += d) {
    const row = x.slice(o, o + d);
    const mean = row.reduce((p, v) => p + v, 0) / d;
    const rstd = 1 / Math.sqrt(row.reduce((p, v) => p + (v - mean) ** 2, 0) / d + eps);
    for (let j = 0; j < d; j++) {
      const term = (w[o + j] as number) * ((row[j] as number) - mean) * rstd;
      dgamma[j] = (dgamma[j] as number) + term;
      dbeta[j] = (dbeta[j] as number) + (w[o + j] as number);
      absSum[j] = (absSum[j] as number) + Math.abs(term) + Math.abs(w[o + j] as number);
    }
  }
  return { dgamma, dbeta, absSum };
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const kernelsRun = async (f: () => tf.Tensor | tf.Tensor[]) => (await tf.profile(f)).kernelNames;

describe(`fused LayerNorm (${process.env.DISTILLERY_TEST_BACKEND ?? 'cpu'})`, () => {
  registerKernels();
  for (const shape of [
    [2, 5, 7],
    [16, 65, 64],
  ]) {
    it(`[${shape}]: values (1e-5) and dx, dγ, dβ (1e-4) equal the composed ops; runs one kernel each way`, async () => {
      const d = shape[shape.length - 1] as number;
      const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 3), 0.5);
      const gamma = tf.randomNormal([d], 1, 0.3, 'float32', 2);
      const beta = tf.randomNormal([d], 0, 0.3, 'float32', 3);
      const w = tf.randomNormal(shape, 0, 1, 'float32', 4); // a weighted sum, so that dy is not constant
      const eps = 1e-6;
      expectClose(
        values(fusedLayerNorm(x, gamma, beta, eps)),
        values(composedLayerNorm(x, gamma, beta, eps)),
        1e-5,
        1e-6,
      );
      const loss = (ln: typeof fusedLayerNorm) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(ln(a, g, b, eps), w));
      const fused = tf.grads(loss(fusedLayerNorm))([x, gamma, beta]);
      const composed = tf.grads(loss(composedLayerNorm))([x, gamma, beta]);
      // dγ and dβ sum over every row: the composed ops sum in float32 (off by up to ~n·ε·Σ|terms|, 5e-4 relative
      // at 4160 rows on wasm), the fused kernel in float64. Both are compared with a float64 reference; the composed
      // ones within their summation bound.
      const reference = columnSums(values(x), values(w), d, eps);
      expectClose(values(fused[0] as tf.Tensor), values(composed[0] as tf.Tensor), 1e-4, 1e-5);
      for (const [i, ref] of [
        [1, reference.dgamma],
        [2, reference.dbeta],
      ] as const) {
        expect(fused[i]?.shape).toEqual(gamma.shape);
        expectClose(values(fused[i] as tf.Tensor), ref, 1e-5, 1e-6);
        const bound = reference.absSum.map((a) => 1e-4 + 1e-6 * a);
        values(composed[i] as tf.Tensor).forEach((c, j) => {
          expect(Math.abs(c - (ref[j] as number))).toBeLessThanOrEqual(bound[j] as number);
        });
      }
      expect(await kernelsRun(() => fusedLayerNorm(x, gamma, beta, eps))).toEqual([LAYER_NORM_KERNEL]);
      const backward = await kernelsRun(() => tf.grads(loss(fusedLayerNorm))([x, gamma, beta]));
      expect(backward).toContain('DistilleryLayerNormGrad');
      expect(backward).not.toContain('Rsqrt');
      tf.dispose([x, gamma, beta, w, ...fused, ...composed]);
    });
  }

  it('a training step through it leaks no tensor', async () => {
    const x = tf.randomNormal([4, 3, 8], 0, 1, 'float32', 5);
    const gamma = tf.variable(tf.ones([8]), true, 'fused_ln_gamma');
    const beta = tf.variable(tf.zeros([8]), true, 'fused_ln_beta');
    await assertNoTensorLeak(
      () => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.square(fusedLayerNorm(x, gamma, beta, 1e-5))) as tf.Scalar,
        );
        tf.dispose([value, ...Object.values(grads)]);
      },
      3,
      'fused LayerNorm step',
    );
    tf.dispose([x, gamma, beta]);
  });
});

describe(`fused GELU (${process.env.DISTILLERY_TEST_BACKEND ?? 'cpu'})`, () => {
  registerKernels();
  it('values (1e-5) and gradient (1e-4) equal the composed ops over [−8, 8]; one kernel each way', async () => {
    const x = tf.linspace(-8, 8, 4001);
    const w = tf.randomNormal([4001], 0, 1, 'float32', 6);
    const simdBefore = { ...simdGeluCalls };
    expectClose(values(fusedGelu(x)), values(composedGelu(x)), 1e-5, 1e-6);
    const loss = (g: typeof fusedGelu) => (a: tf.Tensor) => tf.sum(tf.mul(g(a), w));
    expectClose(values(tf.grad(loss(fusedGelu))(x)), values(tf.grad(loss(composedGelu))(x)), 1e-4, 1e-5);
    // wasm runs both passes on the SIMD module, in place on its heap (4000 floats) and the last float through the
    // module's own memory; cpu keeps the JavaScript loops.
    expect(simdGeluCalls.inPlace - simdBefore.inPlace).toBe(tf.getBackend() === 'wasm' ? 3 : 0);
    expect(simdGeluCalls.count - simdBefore.count).toBe(tf.getBackend() === 'wasm' ? 3 : 0);
    expect(await kernelsRun(() => fusedGelu(x))).toEqual([GELU_KERNEL]);
    expect(await kernelsRun(() => tf.grad(loss(fusedGelu))(x))).toContain('DistilleryGeluGrad');
    tf.dispose([x, w]);
  });

  it('a training step through it leaks no tensor', async () => {
    const v = tf.variable(tf.randomNormal([5, 6], 0, 1, 'float32', 7), true, 'fused_gelu_v');
    await assertNoTensorLeak(
      () => {
        const { value, grads } = tf.variableGrads(() => tf.sum(fusedGelu(v)) as tf.Scalar);
        tf.dispose([value, ...Object.values(grads)]);
      },
      3,
      'fused GELU step',
    );
    v.dispose();
  });
});

describe('DISTILLERY_FUSED_KERNELS=off', () => {
  it('registers no fused kernel (the composed ops run), and they come back without it', async () => {
    const backend = tf.getBackend();
    const names = [LAYER_NORM_KERNEL, GELU_KERNEL, 'DistilleryAdamWUpdate'];
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 8);
    try {
      for (const name of names) tf.unregisterKernel(name, backend);
      process.env.DISTILLERY_FUSED_KERNELS = 'off';
      registerKernels();
      for (const name of names) expect(tf.getKernel(name, backend)).toBeUndefined();
      expect(await kernelsRun(() => fusedGelu(x))).toContain('Erf');
    } finally {
      delete process.env.DISTILLERY_FUSED_KERNELS;
      registerKernels();
    }
    for (const name of names) expect(tf.getKernel(name, backend)).toBeDefined();
    expect(await kernelsRun(() => fusedGelu(x))).toEqual([GELU_KERNEL]);
    x.dispose();
  });
});
