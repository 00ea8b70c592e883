import { describe, expect, it } from 'vitest';
import { assertNoTensorLeak, DistilleryError, noGrad, registerKernels, tf } from '../../index';
import { currentThreadPool } from '../../threads';
import { createSimdMatMul } from '../wasm-simd/simd-matmul';
import {
  ATTENTION_GRAD_KERNEL,
  ATTENTION_KERNEL,
  attentionBackward,
  attentionForward,
  attentionThreadedMatMulCalls,
  composedAttention,
  jsMatMul,
  registerFusedAttention,
  scaledDotProductAttention,
  wasmMatMul,
} from './attention';

const backend = process.env.DISTILLERY_TEST_BACKEND ?? 'cpu';
const threaded = Number(process.env.DISTILLERY_THREADS ?? '1') > 1;

/** |a − e| ≤ rtol·|e| + atol elementwise, naming the worst index. NaN fails. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label = '') {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol))
      throw new Error(`${label} index ${i}: got ${a}, expected ${e}`);
  }
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const maxAbs = (t: tf.Tensor) => values(t).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const kernelsRun = async (f: () => tf.Tensor | tf.Tensor[]) => (await tf.profile(f)).kernelNames;

/** [B, H, Nq, d], [B, H, Nk, d], [B, H, Nk, dv] */
const cases: { name: string; b: number; h: number; nq: number; nk: number; d: number; dv: number }[] = [
  { name: 'DeiT-like (N 65 = 16·4 + 1, d 64)', b: 2, h: 3, nq: 65, nk: 65, d: 64, dv: 64 },
  { name: 'N = 1', b: 2, h: 2, nq: 1, nk: 1, d: 8, dv: 8 },
  { name: 'd = 1', b: 1, h: 3, nq: 5, nk: 5, d: 1, dv: 1 },
  { name: 'odd N, d (not multiples of 4 or 8)', b: 3, h: 1, nq: 7, nk: 7, d: 3, dv: 5 },
  { name: 'cross attention, one query (MMFormer)', b: 2, h: 4, nq: 1, nk: 13, d: 6, dv: 6 },
  { name: 'Nq > Nk', b: 1, h: 2, nq: 9, nk: 2, d: 4, dv: 11 },
];

describe(`fused scaled dot-product attention (${backend}${threaded ? ', threads' : ''})`, () => {
  registerKernels();

  for (const c of cases) {
    it(`${c.name}: values (1e-5) and dQ, dK, dV (1e-4) equal the composed ops; one kernel each way`, async () => {
      const q = tf.mul(tf.randomNormal([c.b, c.h, c.nq, c.d], 0, 1, 'float32', 1), 2);
      const k = tf.mul(tf.randomNormal([c.b, c.h, c.nk, c.d], 0, 1, 'float32', 2), 2);
      const v = tf.randomNormal([c.b, c.h, c.nk, c.dv], 0, 1, 'float32', 3);
      const w = tf.randomNormal([c.b, c.h, c.nq, c.dv], 0, 1, 'float32', 4); // dO not constant
      const scale = c.d ** -0.5;
      const fused = scaledDotProductAttention(q, k, v);
      const composed = composedAttention(q, k, v, scale);
      expect(fused.shape).toEqual([c.b, c.h, c.nq, c.dv]);
      expectClose(values(fused), values(composed), 1e-5, 1e-6 * maxAbs(composed), 'out');
      const loss =
        (f: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
          tf.sum(tf.mul(f(a, b, d), w));
      const gf = tf.grads(loss((a, b, d) => scaledDotProductAttention(a, b, d)))([q, k, v]);
      const gc = tf.grads(loss((a, b, d) => composedAttention(a, b, d, scale)))([q, k, v]);
      for (const [i, name] of ['dQ', 'dK', 'dV'].entries()) {
        const want = gc[i] as tf.Tensor;
        expect(gf[i]?.shape).toEqual(want.shape);
        expectClose(values(gf[i] as tf.Tensor), values(want), 1e-4, 1e-5 * maxAbs(want), name);
      }
      expect(await kernelsRun(() => scaledDotProductAttention(q, k, v))).toEqual([ATTENTION_KERNEL]);
      const backward = await kernelsRun(() =>
        tf.grads(loss((a, b, d) => scaledDotProductAttention(a, b, d)))([q, k, v]),
      );
      expect(backward).toContain(ATTENTION_GRAD_KERNEL);
      expect(backward).not.toContain('Softmax');
      expect(backward).not.toContain('BatchMatMul');
      tf.dispose([q, k, v, w, fused, composed, ...gf, ...gc]);
    });
  }

  it('an additive mask: a broadcast bias [H, Nq, Nk] and a key mask [B, 1, 1, Nk] with −∞; its gradient sums the broadcast axes', () => {
    const [b, h, n, d] = [3, 2, 6, 5];
    const q = tf.randomNormal([b, h, n, d], 0, 1, 'float32', 5);
    const k = tf.randomNormal([b, h, n, d], 0, 1, 'float32', 6);
    const v = tf.randomNormal([b, h, n, d], 0, 1, 'float32', 7);
    const w = tf.randomNormal([b, h, n, d], 0, 1, 'float32', 8);
    const bias = tf.randomNormal([h, n, n], 0, 1, 'float32', 9);
    const keyMask = tf.tensor4d(
      Array.from({ length: b * n }, (_, i) => (i % n === (i / n) % n || i % n === 4 ? Number.NEGATIVE_INFINITY : 0)),
      [b, 1, 1, n],
    );
    for (const mask of [bias, keyMask]) {
      const scale = 0.7;
      const loss = (fused: boolean) => (a: tf.Tensor, bb: tf.Tensor, c: tf.Tensor, m: tf.Tensor) =>
        tf.sum(
          tf.mul(
            fused
              ? scaledDotProductAttention(a, bb, c, { scale, mask: m })
              : composedAttention(a, bb, c, scale, tf.reshape(m, [...new Array(4 - m.rank).fill(1), ...m.shape])),
            w,
          ),
        );
      const out = scaledDotProductAttention(q, k, v, { scale, mask });
      const want = composedAttention(
        q,
        k,
        v,
        scale,
        tf.reshape(mask, [...new Array(4 - mask.rank).fill(1), ...mask.shape]),
      );
      expectClose(values(out), values(want), 1e-5, 1e-6, 'out');
      const gf = tf.grads(loss(true))([q, k, v, mask]);
      const gc = tf.grads(loss(false))([q, k, v, mask]);
      for (const [i, name] of ['dQ', 'dK', 'dV', 'dMask'].entries()) {
        const ref = gc[i] as tf.Tensor;
        expect(gf[i]?.shape).toEqual(ref.shape);
        expectClose(values(gf[i] as tf.Tensor), values(ref), 1e-4, 1e-5 * Math.max(maxAbs(ref), 1e-3), name);
      }
      tf.dispose([out, want, ...gf, ...gc]);
    }
    tf.dispose([q, k, v, w, bias, keyMask]);
  });

  it('a training-style step (forward, gradients of q, k, v and a mask) adds no tensors', async () => {
    const q = tf.variable(tf.randomNormal([2, 3, 9, 4], 0, 1, 'float32', 10));
    const k = tf.randomNormal([2, 3, 9, 4], 0, 1, 'float32', 11);
    const v = tf.randomNormal([2, 3, 9, 4], 0, 1, 'float32', 12);
    const bias = tf.randomNormal([3, 9, 9], 0, 1, 'float32', 13);
    await assertNoTensorLeak(
      () => {
        const { value, grads } = tf.variableGrads(() => tf.sum(scaledDotProductAttention(q, k, v, { mask: bias })));
        tf.dispose(grads);
        return value;
      },
      5,
      'attention step',
    );
    await assertNoTensorLeak(
      () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(scaledDotProductAttention(a, b, c)))([q, k, v]),
      5,
      'attention grads',
    );
    await assertNoTensorLeak(() => scaledDotProductAttention(q, k, v), 5, 'attention forward');
    // Inside a gradient scope but under noGrad: nothing recorded, the probabilities are not kept.
    await assertNoTensorLeak(
      () =>
        tf.grads((a: tf.Tensor) => tf.add(tf.sum(a), tf.sum(noGrad(() => scaledDotProductAttention(a, k, v)))))([q]),
      5,
      'attention under noGrad',
    );
    tf.dispose([q, k, v, bias]);
  });

  it('falls back to the composed ops on a backend without the kernel (as on webgpu)', async () => {
    const q = tf.randomNormal([1, 2, 5, 3], 0, 1, 'float32', 14);
    const want = values(composedAttention(q, q, q, 3 ** -0.5));
    tf.unregisterKernel(ATTENTION_KERNEL, tf.getBackend());
    try {
      const names = await kernelsRun(() => scaledDotProductAttention(q, q, q));
      expect(names).toContain('Softmax');
      expect(names).not.toContain(ATTENTION_KERNEL);
      expectClose(values(scaledDotProductAttention(q, q, q)), want, 1e-6, 1e-7, 'fallback');
    } finally {
      registerFusedAttention();
    }
    expect(tf.getKernel(ATTENTION_KERNEL, tf.getBackend())).toBeDefined();
    q.dispose();
  });

  it('rejects bad input with a DistilleryError naming the argument', () => {
    const q = tf.zeros([1, 2, 3, 4]);
    const caught = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error as DistilleryError;
      }
      throw new Error('did not throw');
    };
    const expectError = (f: () => unknown, argument: string) => {
      const error = caught(f);
      expect(error).toBeInstanceOf(DistilleryError);
      expect(error.argument).toBe(argument);
    };
    expectError(() => scaledDotProductAttention(tf.zeros([2, 3, 4]), q, q), 'q');
    expectError(() => scaledDotProductAttention(q, tf.zeros([1, 2, 3, 5]), q), 'k');
    expectError(() => scaledDotProductAttention(q, q, tf.zeros([1, 2, 4, 4])), 'v');
    expectError(() => scaledDotProductAttention(q, q, tf.zeros([1, 2, 3, 4], 'int32')), 'v');
    expectError(() => scaledDotProductAttention(q, q, q, { scale: Number.NaN }), 'options.scale');
    expectError(() => scaledDotProductAttention(q, q, q, { causal: true } as never), 'options.causal');
    expectError(() => scaledDotProductAttention(q, q, q, { mask: tf.zeros([3, 3, 3]) }), 'options.mask');
    expectError(() => scaledDotProductAttention(q, q, q, { mask: tf.zeros([1, 1, 1, 2, 3]) }), 'options.mask');
    expectError(() => scaledDotProductAttention(q, q, q, { mask: [1, 2] as never }), 'options.mask');
    expectError(() => scaledDotProductAttention(q, tf.zeros([1, 2, 0, 4]), tf.zeros([1, 2, 0, 4])), 'k');
    q.dispose();
  });

  if (backend === 'wasm') {
    it('wasm: the kernel products equal the one-thread SIMD path to 1e-6 (bit for bit), threads or not', () => {
      const simd = createSimdMatMul();
      if (!simd) throw new Error('no WebAssembly SIMD');
      const oneThread = (
        a: Float32Array,
        b: Float32Array,
        m: number,
        n: number,
        kk: number,
        batch: number,
        out: Float32Array,
      ) => void simd.run(a, b, m, n, kk, batch, batch, out);
      const dims = { batch: 4, heads: 3, nq: 17, nk: 17, d: 12, dv: 12 };
      const rand = (n: number, seed: number) =>
        Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 2);
      const problems = dims.batch * dims.heads;
      const q = rand(problems * 17 * 12, 1);
      const k = rand(problems * 17 * 12, 2);
      const v = rand(problems * 17 * 12, 3);
      const dO = rand(problems * 17 * 12, 4);
      const run = (mm: typeof jsMatMul) => {
        const o = new Float32Array(q.length);
        const p = new Float32Array(problems * 17 * 17);
        attentionForward(mm, q, k, v, null, dims, 0.3, o, p);
        const grads = [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)] as const;
        attentionBackward(mm, dO, q, k, v, p, dims, 0.3, grads[0], grads[1], grads[2], null);
        return [o, p, ...grads];
      };
      const before = attentionThreadedMatMulCalls.count;
      const got = run(wasmMatMul);
      if (threaded) {
        expect(currentThreadPool()?.threads).toBeGreaterThan(1);
        expect(attentionThreadedMatMulCalls.count - before).toBe(6); // 2 forward + 4 backward products on the pool
      }
      const want = run(oneThread);
      for (let i = 0; i < want.length; i++) expect(got[i]).toEqual(want[i]);
      // and the JavaScript loop of the cpu kernel agrees to float32 rounding (values 1e-5, gradients 1e-4)
      const js = run(jsMatMul);
      for (let i = 0; i < want.length; i++)
        expectClose(js[i] as Float32Array, want[i] as Float32Array, i < 2 ? 1e-5 : 1e-4, 1e-6, `output ${i}`);
    });
  }
});
