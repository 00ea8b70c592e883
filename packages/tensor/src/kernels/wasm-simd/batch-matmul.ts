import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '../../errors';
import { currentThreadPool, type ThreadPool } from '../../threads';
import { threadedMatMul } from '../../threads/matmul';
import {
  type DataBackend,
  type Info,
  isHeapBackend,
  type KernelArgs,
  replaceKernel,
  wasmHeapMemory,
} from '../kernel-types';
import { createSimdMatMul, type SimdMatMul, simdMatMulModuleBytes, simdMatMulOn, TILE_M, TILE_N } from './simd-matmul';

/** Set to `off` (read when the kernels are registered) to keep tfjs-wasm's own batched matMul. */
export const WASM_BATCH_MATMUL_ENV = 'DISTILLERY_WASM_BATCH_MATMUL';

/**
 * Largest single problem (A + B + C bytes) the SIMD kernel takes; bigger ones stay with the original kernel. The
 * kernel's memory grows to max(512 KiB, one problem) and is kept for later calls.
 */
const MAX_PROBLEM_BYTES = 256 * 1024 * 1024;

export interface BatchMatMulPlan {
  m: number;
  n: number;
  k: number;
  /** Matrices in A and B: equal, or one of them 1 (broadcast). */
  batchA: number;
  batchB: number;
  outShape: number[];
}

/**
 * The problem `a · b` (no transposes) as the SIMD kernel runs it, or null when it is not one it takes: a batch of
 * 1 unless `single` (the kernel wrapper passes it), empty dimensions, mismatched inner sizes (the original kernel
 * reports those), or batch dimensions that broadcast other than "equal, or one side a single matrix".
 */
export function planBatchMatMul(
  aShape: readonly number[],
  bShape: readonly number[],
  options: { single?: boolean } = {},
): BatchMatMulPlan | null {
  if (aShape.length < 2 || bShape.length < 2) return null;
  const m = aShape[aShape.length - 2] as number;
  const k = aShape[aShape.length - 1] as number;
  const n = bShape[bShape.length - 1] as number;
  if (bShape[bShape.length - 2] !== k || m < 1 || n < 1 || k < 1) return null;
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  } catch {
    return null;
  }
  const batch = tf.util.sizeFromShape(outer);
  const batchA = tf.util.sizeFromShape(aShape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(bShape.slice(0, -2));
  if (batch < 1 || (batch === 1 && !options.single)) return null;
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  if (4 * (m * k + k * n + m * n) > MAX_PROBLEM_BYTES) return null;
  return { m, n, k, batchA, batchB, outShape: [...outer, m, n] };
}

type MatMulAttrs = { transposeA?: boolean; transposeB?: boolean; activation?: string };

/**
 * The planned product computed in place on tfjs-wasm's heap (simdMatMulOn), when its memory is a plain (non-shared)
 * WebAssembly.Memory that holds the three views with room for the kernel's reads past B and C; false otherwise
 * (tfjs-wasm's threaded build, or a backend without that memory), and the caller copies.
 */
function runOnHeap(backend: DataBackend, a: Float32Array, b: Float32Array, c: Float32Array, plan: BatchMatMulPlan) {
  const memory = wasmHeapMemory(backend);
  if (!memory) return false;
  const buffer = memory.buffer;
  const slack = 4 * TILE_N;
  if (a.buffer !== buffer || b.buffer !== buffer || c.buffer !== buffer) return false;
  if (
    b.byteOffset + b.byteLength + slack > buffer.byteLength ||
    c.byteOffset + c.byteLength + slack > buffer.byteLength
  )
    return false;
  const kernel = simdMatMulOn(memory);
  if (!kernel) return false;
  const { m, n, k, batchA, batchB } = plan;
  const strideA = batchA > 1 ? 4 * m * k : 0;
  const strideB = batchB > 1 ? 4 * k * n : 0;
  kernel.matmul(
    a.byteOffset,
    b.byteOffset,
    c.byteOffset,
    m,
    n,
    k,
    Math.max(batchA, batchB),
    strideA,
    strideB,
    4 * m * n,
  );
  wasmBatchMatMulCalls.onHeap++;
  return true;
}

/**
 * Runs the planned product. On tfjs-wasm the inputs are read as views of its heap and the result is written straight
 * into a tensor allocated there (allocated first: an allocation may grow the heap and detach earlier views);
 * elsewhere through `readSync` and `write`.
 */
export function runPlan(simd: SimdMatMul, backend: DataBackend, a: Info, b: Info, plan: BatchMatMulPlan): Info {
  const { m, n, k, batchA, batchB, outShape } = plan;
  if (isHeapBackend(backend)) {
    const out = backend.makeOutput(outShape, 'float32');
    try {
      const view = (x: Info) => backend.typedArrayFromHeap(x) as Float32Array;
      if (!runOnHeap(backend, view(a), view(b), view(out), plan))
        simd.run(view(a), view(b), m, n, k, batchA, batchB, view(out));
    } catch (error) {
      backend.disposeData(out.dataId);
      throw error;
    }
    return out;
  }
  const values = simd.run(
    backend.readSync(a.dataId) as Float32Array,
    backend.readSync(b.dataId) as Float32Array,
    m,
    n,
    k,
    batchA,
    batchB,
  );
  return { dataId: backend.write(values, outShape, 'float32'), shape: outShape, dtype: 'float32' };
}

/**
 * Products of at least this many floating-point operations (2·batch·M·N·K) run on the thread pool when one is
 * running; smaller ones stay on the calling thread, where waking the workers and the copies through the shared
 * memory would cost more than they save. Measured on 2 cores under load (1 and 2 threads alternating, best of 3):
 * 64³ (0.5 MFLOP) 25 µs on one thread vs 31 µs on two, 96³ (1.8 MFLOP) 71 vs 69 µs, 128³ (4.2 MFLOP) 160 vs 150 µs.
 */
export const threadedMatMulConfig = {
  minFlops: 2 ** 21,
  /**
   * A conv goes to the pool only with at least this many output channels: the calling thread writes its im2col
   * matrix alone (rows·k floats, in JavaScript) while the product's work grows with the channels n, so below ~64
   * channels the serial im2col outweighs the split product. Measured, 2 threads, train step: ResNetCifar (16/32/64
   * channels, 28×28, B64) 326 ms with every conv pooled, 236 ms from 64 channels (one thread: 241 ms); torchvision
   * resnet18 (32×32, B32) 273 → 260 ms (threshold 32: 274 and 240 ms; 128: 292 and 235 ms).
   */
  convMinOutChannels: 64,
  /**
   * A product goes to the pool only with at least this many flops per byte of A, B and C: one thread computes in
   * place on tfjs-wasm's heap (runOnHeap), the pool first copies A and B into its shared memory and C out, alone on
   * the calling thread. Measured, 2 threads against one: [512,64]·[64,64] (15 flops/byte) 0.79×, [3264,64]·[64,64]
   * (16) 0.93×, [3264,64]·[64,192] (24) 1.08×, [1024,128]·[128,128] (30) 1.15×, [2112,192]·[192,576] (67) 1.47×.
   */
  minFlopsPerByte: 20,
};

/**
 * Runs `body` with `overrides` applied to threadedMatMulConfig and restores every threshold afterwards, whether it
 * returns or throws (tests send small products to the pool, or check the defaults, this way).
 */
export async function withThreadedMatMulConfig<T>(
  overrides: Partial<typeof threadedMatMulConfig>,
  body: () => T | Promise<T>,
): Promise<T> {
  const saved = { ...threadedMatMulConfig };
  Object.assign(threadedMatMulConfig, overrides);
  try {
    return await body();
  } finally {
    Object.assign(threadedMatMulConfig, saved);
  }
}

/** Whether a product of `batch` M×K·K×N problems (A and B `batchA`, `batchB` matrices) pays for the pool. */
export function worthThreads(m: number, n: number, k: number, batchA: number, batchB: number): boolean {
  const batch = Math.max(batchA, batchB);
  const flops = 2 * batch * m * n * k;
  const bytes = 4 * (batchA * m * k + batchB * k * n + batch * m * n);
  return flops >= threadedMatMulConfig.minFlops && flops >= threadedMatMulConfig.minFlopsPerByte * bytes;
}

/**
 * Overrides the flops threshold above (a non-negative number; read once, at import). 0 sends every matMul and conv
 * to the pool (the per-byte and channel thresholds are then 0 too): the test matrix's `wasm-threads` project sets it.
 */
export const THREADS_MIN_FLOPS_ENV = 'DISTILLERY_THREADS_MIN_FLOPS';
{
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[THREADS_MIN_FLOPS_ENV];
  if (value !== undefined && value.trim() !== '') {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) {
      throw invalid('INVALID_ARGUMENT', THREADS_MIN_FLOPS_ENV, 'a number >= 0', JSON.stringify(value));
    }
    threadedMatMulConfig.minFlops = n;
    if (n === 0) Object.assign(threadedMatMulConfig, { minFlopsPerByte: 0, convMinOutChannels: 0 });
  }
}
/** How many products ran on the thread pool. */
export const wasmThreadedMatMulCalls = { count: 0 };

/**
 * Runs the planned product on the pool (the whole problem goes through its shared memory), or returns null when it
 * does not fit there. Output first, as in runPlan: an allocation may grow tfjs-wasm's heap and detach views.
 */
export function runThreadedPlan(pool: ThreadPool, backend: DataBackend, a: Info, b: Info, plan: BatchMatMulPlan) {
  const { m, n, k, batchA, batchB, outShape } = plan;
  if (isHeapBackend(backend)) {
    const out = backend.makeOutput(outShape, 'float32');
    let ok = false;
    try {
      const view = (x: Info) => backend.typedArrayFromHeap(x) as Float32Array;
      ok = threadedMatMul(pool, view(a), view(b), m, n, k, batchA, batchB, view(out));
    } finally {
      if (!ok) backend.disposeData(out.dataId);
    }
    return ok ? out : null;
  }
  const values = new Float32Array(Math.max(batchA, batchB) * m * n);
  const aValues = backend.readSync(a.dataId) as Float32Array;
  const bValues = backend.readSync(b.dataId) as Float32Array;
  if (!threadedMatMul(pool, aValues, bValues, m, n, k, batchA, batchB, values)) return null;
  return { dataId: backend.write(values, outShape, 'float32'), shape: outShape, dtype: 'float32' as const };
}

let simd: SimdMatMul | null | undefined;
/** How many products the SIMD kernel has run, and how many of them in place on tfjs-wasm's heap (tests check). */
export const wasmBatchMatMulCalls = { count: 0, onHeap: 0 };
const wrapped = new Set<string>();

/**
 * tfjs-wasm's BatchMatMul (and _FusedMatMul) reach XNNPACK only for a batch of 1; batched products — attention's
 * Q·Kᵀ and A·V, [96, 65, 64] @ [96, 64, 65] — fall to a naive loop at ~1.4 GFLOP/s. This wraps both kernels so that
 * float32 products without transposes, bias or activation run on a hand-written WebAssembly SIMD kernel
 * (`simd-matmul.ts`: 4×8 register tiles, k blocks that keep B in cache, f32x4 mul + add or relaxed_madd, encoded at
 * run time) that reaches 30–40 GFLOP/s on one thread (bench/batch-matmul.bench.mjs: [96,65,64]@[96,64,65] in 1.8 ms
 * instead of 41 ms). Single products of 4 rows or more take it too: it beats XNNPACK's (0.7–0.97× its time from
 * 8×8×8 to a linear layer's [2112,192]@[192,768], ~0.7× with relaxed_madd), and then one thread and the pool run the
 * same kernel, so every thread count gives the same bits. Matrix-vector products (fewer than 4 rows) stay with
 * XNNPACK. Register it before `registerTransposeFreeMatMul`, which then hands it transposes already materialised.
 * Everything else goes to the original kernel, and nothing is wrapped where WebAssembly SIMD does not validate or
 * `DISTILLERY_WASM_BATCH_MATMUL=off`. Returns the kernels wrapped by this call.
 */
export function registerWasmBatchMatMul(backendName: string): string[] {
  if (backendName !== 'wasm') return [];
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.[WASM_BATCH_MATMUL_ENV] === 'off') return [];
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(simdMatMulModuleBytes())) return [];
  const added: string[] = [];
  for (const kernelName of ['BatchMatMul', '_FusedMatMul']) {
    const key = `${backendName}/${kernelName}`;
    if (wrapped.has(key)) continue;
    const batched = (args: KernelArgs): Info | null => {
      const { a, b, bias, preluActivationWeights } = args.inputs;
      const attrs = (args.attrs ?? {}) as MatMulAttrs;
      if (!a || !b || bias || preluActivationWeights || attrs.transposeA || attrs.transposeB) return null;
      if ((attrs.activation ?? 'linear') !== 'linear' || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
      const plan = planBatchMatMul(a.shape, b.shape, { single: true });
      if (!plan) return null;
      // A single product of fewer than 4 rows (a matrix-vector product) would waste most of each 4-row tile.
      if (Math.max(plan.batchA, plan.batchB) === 1 && plan.m < TILE_M) return null;
      const pool = currentThreadPool();
      if (pool && worthThreads(plan.m, plan.n, plan.k, plan.batchA, plan.batchB)) {
        const out = runThreadedPlan(pool, args.backend as DataBackend, a, b, plan);
        if (out) {
          wasmThreadedMatMulCalls.count++;
          return out;
        }
      }
      if (simd === undefined) simd = createSimdMatMul();
      if (!simd) return null;
      wasmBatchMatMulCalls.count++;
      return runPlan(simd, args.backend as DataBackend, a, b, plan);
    };
    if (
      !replaceKernel(
        kernelName,
        backendName,
        (original) => (args) => batched(args) ?? original.kernelFunc(args as never),
      )
    )
      continue;
    wrapped.add(key);
    added.push(kernelName);
  }
  return added;
}
