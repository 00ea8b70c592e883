import { assertNoTensorLeak, Rng, randomNormal, tf } from '@distillery/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureThreads } from '../../threads';
import type { DataBackend, Info } from '../kernel-types';
import {
  planBatchMatMul,
  registerWasmBatchMatMul,
  runPlan,
  threadedMatMulConfig,
  wasmBatchMatMulCalls,
  withThreadedMatMulConfig,
} from './batch-matmul';
import { createSimdMatMul, K_BLOCK_BYTES, simdMatMulModuleBytes } from './simd-matmul';
import { relaxedSimdAvailable } from './wasm-encoder';

const projectBackend = process.env.DISTILLERY_TEST_BACKEND ?? 'cpu';

/** C = A·B in float64 (batchA, batchB equal or 1). */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, batchA: number, batchB: number) {
  const batch = Math.max(batchA, batchB);
  const c = new Float64Array(batch * m * n);
  const bound = new Float64Array(batch * m * n); // Σ|a||b|, the scale of the rounding error
  for (let t = 0; t < batch; t++) {
    const ao = batchA > 1 ? t * m * k : 0;
    const bo = batchB > 1 ? t * k * n : 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        let s1 = 0;
        for (let p = 0; p < k; p++) {
          const x = (a[ao + i * k + p] as number) * (b[bo + p * n + j] as number);
          s += x;
          s1 += Math.abs(x);
        }
        c[t * m * n + i * n + j] = s;
        bound[t * m * n + i * n + j] = s1;
      }
  }
  return { c, bound };
}

const randoms = (rng: Rng, length: number) => Float32Array.from({ length }, () => rng.normal());

/** Largest |got − want| / (Σ|a||b| + 1e-30) — float32 accumulation stays far below 1e-5 of that scale. */
function relativeError(got: ArrayLike<number>, want: Float64Array, bound: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs((got[i] as number) - (want[i] as number)) / ((bound[i] as number) + 1e-30);
    worst = Math.max(worst, Number.isNaN(e) ? Number.POSITIVE_INFINITY : e);
  }
  return worst;
}

describe('WebAssembly SIMD batched matMul kernel', () => {
  const simd = createSimdMatMul();

  it('validates and stays small enough to compile synchronously on a browser main thread (< 4 KB)', () => {
    expect(WebAssembly.validate(simdMatMulModuleBytes())).toBe(true);
    expect(simd).not.toBeNull();
    expect(simd?.byteLength).toBeLessThan(4096);
  });

  it('multiplies and adds in one relaxed_madd exactly where relaxed SIMD is on (wasm-threads runs with it on)', () => {
    // Node 20 has relaxed SIMD behind a flag, Node ≥ 22 and Chromium by default; the tests below then run the FMA
    // kernel, the cpu and wasm projects the mul + add one.
    const relaxed = WebAssembly.validate(simdMatMulModuleBytes(undefined, true));
    const on =
      process.execArgv.includes('--experimental-wasm-relaxed-simd') ||
      Number(process.versions.node.split('.')[0]) >= 22;
    expect(relaxed).toBe(on);
    expect(relaxedSimdAvailable()).toBe(relaxed);
    expect(Array.from(simdMatMulModuleBytes())).toEqual(Array.from(simdMatMulModuleBytes(undefined, relaxed)));
    expect(WebAssembly.validate(simdMatMulModuleBytes(undefined, false))).toBe(true);
  });

  it('matches a float64 reference on every edge size of the 4×8 tile, batched and broadcast', () => {
    const rng = new Rng(1);
    const sizes = [1, 3, 4, 5, 7, 8, 9, 17, 65];
    let worst = 0;
    let cases = 0;
    for (const m of sizes)
      for (const n of sizes)
        for (const k of [1, 3, 8, 17, 65]) {
          // Keep the grid quick: the large K only with small M·N.
          if (k === 65 && m * n > 100) continue;
          for (const [batchA, batchB] of [
            [1, 1],
            [3, 3],
            [1, 2],
            [2, 1],
          ] as const) {
            const a = randoms(rng, batchA * m * k);
            const b = randoms(rng, batchB * k * n);
            const got = simd?.run(a, b, m, n, k, batchA, batchB) as Float32Array;
            const { c, bound } = reference(a, b, m, n, k, batchA, batchB);
            expect(got.length).toBe(c.length);
            worst = Math.max(worst, relativeError(got, c, bound));
            cases++;
          }
        }
    expect(cases).toBeGreaterThan(1000);
    expect(worst).toBeLessThan(1e-6);
  });

  it('sums long products in k blocks (B kept in cache) to the same float64 reference, at every edge', () => {
    // K_BLOCK_BYTES / (4N) k values per block, a multiple of 8: N = 1029 → 56, N = 3 → 21,840.
    expect(Math.floor(K_BLOCK_BYTES / (4 * 1029)) & ~7).toBe(56);
    const rng = new Rng(7);
    for (const [m, n, k, batchA, batchB] of [
      [5, 1029, 150, 1, 1], // three blocks, the last one short; M and N edges
      [4, 1024, 64, 2, 2], // exactly one block
      [9, 1000, 130, 3, 1], // batched A, B broadcast
      [3, 3, 21_841, 1, 1], // two blocks, the second one k value long
    ] as const) {
      const a = randoms(rng, batchA * m * k);
      const b = randoms(rng, batchB * k * n);
      const got = simd?.run(a, b, m, n, k, batchA, batchB) as Float32Array;
      const { c, bound } = reference(a, b, m, n, k, batchA, batchB);
      expect(relativeError(got, c, bound), `${m}×${k}·${k}×${n}`).toBeLessThan(1e-6);
    }
  });

  it('gives the same result when the batch is split into chunks (bounded kernel memory)', () => {
    const rng = new Rng(2);
    const [batch, m, n, k] = [7, 13, 11, 9];
    const a = randoms(rng, batch * m * k);
    const b = randoms(rng, batch * k * n);
    const whole = Float32Array.from(simd?.run(a, b, m, n, k, batch, batch) as Float32Array);
    // One problem is 4·(13·9 + 9·11 + 13·11) = 1436 bytes: chunks of 2 problems.
    const chunked = createSimdMatMul({ chunkBytes: 3000 })?.run(a, b, m, n, k, batch, batch) as Float32Array;
    expect(Array.from(chunked)).toEqual(Array.from(whole));
    // A broadcast operand is copied once and must stay put while the other one moves through the chunks.
    for (const [batchA, batchB] of [
      [batch, 1],
      [1, batch],
    ] as const) {
      const shared = createSimdMatMul({ chunkBytes: 3000 })?.run(a, b, m, n, k, batchA, batchB) as Float32Array;
      const { c, bound } = reference(a, b, m, n, k, batchA, batchB);
      expect(relativeError(shared, c, bound)).toBeLessThan(1e-6);
    }
  });

  it('keeps non-finite values where they belong (NaN and Infinity propagate only to their rows and columns)', () => {
    const [m, n, k] = [5, 9, 3];
    const a = new Float32Array(2 * m * k).fill(1);
    const b = new Float32Array(2 * k * n).fill(1);
    a[k * 2] = Number.NaN; // batch 0, row 2
    b[k * n + 4] = Number.POSITIVE_INFINITY; // batch 1, column 4
    const c = simd?.run(a, b, m, n, k, 2, 2) as Float32Array;
    for (let t = 0; t < 2; t++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          const v = c[t * m * n + i * n + j];
          if (t === 0 && i === 2) expect(v).toBeNaN();
          else if (t === 1 && j === 4) expect(v).toBe(Number.POSITIVE_INFINITY);
          else expect(v).toBe(k);
        }
  });
});

describe('withThreadedMatMulConfig', () => {
  it('applies the overrides inside and restores every threshold after a return or a throw', async () => {
    const before = { ...threadedMatMulConfig };
    const inside = await withThreadedMatMulConfig({ minFlops: 7, convMinOutChannels: 3 }, () => ({
      ...threadedMatMulConfig,
    }));
    expect(inside).toEqual({ ...before, minFlops: 7, convMinOutChannels: 3 });
    expect(threadedMatMulConfig).toEqual(before);
    await expect(
      withThreadedMatMulConfig({ minFlopsPerByte: 1 }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(threadedMatMulConfig).toEqual(before);
  });
});

describe('planBatchMatMul', () => {
  it('takes equal batches and single-matrix broadcasts, leaves everything else to the original kernel', () => {
    expect(planBatchMatMul([6, 9, 7], [6, 7, 5])).toEqual({
      m: 9,
      n: 5,
      k: 7,
      batchA: 6,
      batchB: 6,
      outShape: [6, 9, 5],
    });
    expect(planBatchMatMul([2, 3, 9, 7], [2, 3, 7, 5])?.outShape).toEqual([2, 3, 9, 5]);
    expect(planBatchMatMul([9, 7], [6, 7, 5])).toMatchObject({ batchA: 1, batchB: 6, outShape: [6, 9, 5] });
    expect(planBatchMatMul([6, 9, 7], [1, 7, 5])).toMatchObject({ batchA: 6, batchB: 1, outShape: [6, 9, 5] });
    expect(planBatchMatMul([1, 9, 7], [1, 7, 5])).toBeNull(); // batch 1: XNNPACK
    expect(planBatchMatMul([9, 7], [7, 5])).toBeNull();
    expect(planBatchMatMul([2, 1, 9, 7], [1, 3, 7, 5])).toBeNull(); // a 2×3 broadcast of both sides
    expect(planBatchMatMul([6, 9, 7], [6, 8, 5])).toBeNull(); // inner sizes differ: the original kernel throws
    expect(planBatchMatMul([6, 0, 7], [6, 7, 5])).toBeNull();
  });

  it('is registered for wasm only, and not at all with DISTILLERY_WASM_BATCH_MATMUL=off', () => {
    expect(registerWasmBatchMatMul('cpu')).toEqual([]);
    const before = process.env.DISTILLERY_WASM_BATCH_MATMUL;
    process.env.DISTILLERY_WASM_BATCH_MATMUL = 'off';
    try {
      expect(registerWasmBatchMatMul('wasm')).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.DISTILLERY_WASM_BATCH_MATMUL;
      else process.env.DISTILLERY_WASM_BATCH_MATMUL = before;
    }
  });
});

describe('tf.matMul on wasm with the SIMD kernel', () => {
  // The one-thread kernel (the thread pool's path has its own tests in src/threads).
  beforeAll(async () => {
    await configureThreads(1);
  });
  afterAll(async () => {
    await configureThreads(Number(process.env.DISTILLERY_THREADS ?? 1));
    await tf.setBackend(projectBackend);
  });

  // tfjs 4.22 cannot take gradients through a matMul that broadcasts a lower-rank operand (its gradient keeps the
  // batch dimension, on every backend), so those cases compare values only.
  type Case = { name: string; a: number[]; b: number[]; transposeA?: boolean; transposeB?: boolean; grads?: false };
  const cases: Case[] = [
    { name: 'batched', a: [6, 9, 7], b: [6, 7, 5] },
    { name: 'batched, edge sizes', a: [3, 17, 65], b: [3, 65, 9] },
    { name: 'rank 4', a: [2, 3, 5, 4], b: [2, 3, 4, 6] },
    { name: 'shared right operand', a: [4, 9, 7], b: [7, 5], grads: false },
    { name: 'shared left operand', a: [9, 7], b: [4, 7, 5], grads: false },
    { name: 'shared right operand, rank 3', a: [4, 9, 7], b: [1, 7, 5], grads: false },
    { name: 'attention scores (transposeB)', a: [6, 9, 8], b: [6, 9, 8], transposeB: true },
    { name: 'transposeA', a: [6, 7, 9], b: [6, 7, 5], transposeA: true },
  ];

  /** Values and gradients of Σ w ⊙ matMul(a, b) on `backend`. */
  async function run(backend: string, c: Case) {
    await tf.setBackend(backend);
    const rng = new Rng(7);
    return tf.tidy(() => {
      const a = randomNormal(c.a, rng);
      const b = randomNormal(c.b, rng);
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.transposeA, c.transposeB);
      const y = f(a, b);
      const w = randomNormal(y.shape, rng);
      const [ga, gb] =
        c.grads === false ? [] : tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(f(x, z), w)))([a, b]);
      return { shape: y.shape, y: y.dataSync(), ga: ga?.dataSync() ?? [], gb: gb?.dataSync() ?? [] };
    });
  }

  const close = (got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number) => {
    expect(got.length).toBe(want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++)
      worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)) / (1 + Math.abs(want[i] as number)));
    expect(worst).toBeLessThan(tolerance);
  };

  for (const c of cases) {
    it(`matches cpu, values within 1e-5 and gradients within 1e-4: ${c.name}`, async () => {
      const want = await run('cpu', c);
      const calls = { ...wasmBatchMatMulCalls };
      const got = await run('wasm', c);
      // Every product is batched here, so each takes the SIMD kernel: the forward one, and with gradients the forward
      // pass again inside tf.grads and both gradient products; all in place on tfjs-wasm's heap (Node's build of it
      // has a plain memory).
      expect(wasmBatchMatMulCalls.count - calls.count).toBe(c.grads === false ? 1 : 4);
      expect(wasmBatchMatMulCalls.onHeap - calls.onHeap).toBe(c.grads === false ? 1 : 4);
      expect(got.shape).toEqual(want.shape);
      close(got.y, want.y, 1e-5);
      close(got.ga, want.ga, 1e-4);
      close(got.gb, want.gb, 1e-4);
    });
  }

  it('leaves matrix-vector and fused-with-bias products to the original kernels', async () => {
    await tf.setBackend('wasm');
    const calls = wasmBatchMatMulCalls.count;
    tf.tidy(() => {
      const rng = new Rng(3);
      tf.matMul(randomNormal([3, 7], rng), randomNormal([7, 5], rng)).dataSync();
      tf.matMul(randomNormal([1, 2, 7], rng), randomNormal([7, 5], rng)).dataSync();
      const biased = tf.fused.matMul({
        a: randomNormal([2, 9, 7], rng),
        b: randomNormal([2, 7, 5], rng),
        bias: randomNormal([5], rng),
      });
      expect(biased.shape).toEqual([2, 9, 5]);
    });
    expect(wasmBatchMatMulCalls.count).toBe(calls);
    // A fused product without bias or activation does take it, and so does a single product of 4 rows or more.
    tf.tidy(() => {
      const rng = new Rng(4);
      tf.fused.matMul({ a: randomNormal([2, 9, 7], rng), b: randomNormal([2, 7, 5], rng) }).dataSync();
      const a = randomNormal([9, 7], rng);
      const b = randomNormal([7, 5], rng);
      const c = tf.matMul(a, b).dataSync();
      const { c: want, bound } = reference(a.dataSync() as Float32Array, b.dataSync() as Float32Array, 9, 5, 7, 1, 1);
      expect(relativeError(c, want, bound)).toBeLessThan(1e-6);
    });
    expect(wasmBatchMatMulCalls.count).toBe(calls + 2);
  });

  it('also runs through readSync and write where the backend has no heap views', async () => {
    await tf.setBackend('wasm');
    const wasm = tf.backend() as unknown as DataBackend;
    const plain: DataBackend = {
      readSync: (dataId) => wasm.readSync(dataId),
      write: (values, shape, dtype) => wasm.write(values, shape, dtype),
      disposeData: (dataId, force) => wasm.disposeData(dataId, force),
    };
    const rng = new Rng(6);
    const a = randomNormal([3, 5, 9], rng);
    const b = randomNormal([3, 9, 10], rng);
    const plan = planBatchMatMul(a.shape, b.shape) as NonNullable<ReturnType<typeof planBatchMatMul>>;
    const simd = createSimdMatMul() as NonNullable<ReturnType<typeof createSimdMatMul>>;
    const info = runPlan(simd, plain, a as unknown as Info, b as unknown as Info, plan);
    const c = tf.engine().makeTensorFromDataId(info.dataId as object, info.shape, 'float32');
    const { c: want, bound } = reference(a.dataSync() as Float32Array, b.dataSync() as Float32Array, 5, 10, 9, 3, 3);
    expect(c.shape).toEqual([3, 5, 10]);
    expect(relativeError(c.dataSync(), want, bound)).toBeLessThan(1e-6);
    tf.dispose([a, b, c]);
  });

  it('does not leak tensors or backend memory', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(5);
    const a = randomNormal([6, 9, 7], rng);
    const b = randomNormal([6, 7, 5], rng);
    const report = await assertNoTensorLeak(
      () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([a, b]),
      10,
      'batched matMul on wasm',
    );
    expect(report.bytesGrowth).toBe(0);
    tf.dispose([a, b]);
  });
});
