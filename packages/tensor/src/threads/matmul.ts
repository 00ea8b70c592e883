import { TILE_M, TILE_N } from '../kernels/wasm-simd/simd-matmul';
import { type KernelCall, MAX_CHUNKS, type ThreadPool } from './pool';
import { KERNEL_FUNCTIONS } from './worker-source';

/**
 * The pool module's matMul functions: 'matmul' (a fused multiply-add where relaxed SIMD is on) and 'matmulMulAdd'
 * (always mul + add: the convs' choice, bit for bit XNNPACK's one-thread conv).
 */
export type MatMulKernel = (typeof KERNEL_FUNCTIONS)[number];

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/**
 * The kernel calls that compute output row blocks [u0, u1) of a batched product, where block u is rows
 * 4·(u mod rowBlocks) … of problem ⌊u / rowBlocks⌋: at most three calls (the tail of one problem, whole problems,
 * the head of the last one). Every output element is still one k-ordered sum computed exactly as on one thread, so
 * the split changes no bit of the result.
 */
export function rangeCalls(
  u0: number,
  u1: number,
  p: {
    m: number;
    n: number;
    k: number;
    aOff: number;
    bOff: number;
    cOff: number;
    strideA: number;
    strideB: number;
    /** Which of the module's functions (KERNEL_FUNCTIONS); default 'matmul'. */
    kernel?: MatMulKernel;
  },
): KernelCall[] {
  const { m, n, k, aOff, bOff, cOff, strideA, strideB } = p;
  const fn = KERNEL_FUNCTIONS.indexOf(p.kernel ?? 'matmul');
  const rowBlocks = Math.ceil(m / TILE_M);
  const strideC = 4 * m * n;
  const calls: KernelCall[] = [];
  const call = (problem: number, row0: number, rows: number, count: number) =>
    calls.push([
      fn,
      aOff + problem * strideA + 4 * row0 * k,
      bOff + problem * strideB,
      cOff + problem * strideC + 4 * row0 * n,
      rows,
      n,
      k,
      count,
      strideA,
      strideB,
      strideC,
    ]);
  let u = u0;
  while (u < u1) {
    const problem = Math.floor(u / rowBlocks);
    const r = u - problem * rowBlocks;
    if (r === 0 && u1 - u >= rowBlocks) {
      const count = Math.floor((u1 - u) / rowBlocks);
      call(problem, 0, m, count);
      u += count * rowBlocks;
    } else {
      const end = Math.min(u1, (problem + 1) * rowBlocks);
      const row0 = r * TILE_M;
      call(problem, row0, Math.min(m, (end - problem * rowBlocks) * TILE_M) - row0, 1);
      u = end;
    }
  }
  return calls;
}

/**
 * Chunks per thread an op is split into. Many small chunks claimed dynamically let the other threads absorb a
 * descheduled one's share (it delays only the chunk it holds); a chunk costs one `Atomics.add` and a kernel call,
 * negligible above the threading threshold (2 MFLOP: at most 16 chunks of 128 kFLOP on 2 threads).
 */
export const matMulChunking = { perThread: 8 };

/** The row-block ranges of `units` split into `chunks` contiguous, near-equal chunks (fixed by the two counts). */
export function chunkBounds(units: number, chunks: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < chunks; i++) out.push([Math.floor((units * i) / chunks), Math.floor((units * (i + 1)) / chunks)]);
  return out;
}

/** Writes A (batchA·M·K floats) into the shared heap at float offset `at` (e.g. an im2col of a conv's input). */
export type FillA = (heap: Float32Array, at: number) => void;

/**
 * Batched C = A·B (float32, row-major; batchA and batchB equal or one of them 1, broadcast) on the pool's threads:
 * A and B are copied into the shared memory once (A may instead be written there by a `FillA`), the
 * max(batchA, batchB)·⌈M/4⌉ output row blocks are split into `chunks` contiguous ranges (default
 * `matMulChunking.perThread` per thread, at most one row block each, at most MAX_CHUNKS) that the threads claim
 * dynamically, and C is copied out into `out`. Every output element is the same k-ordered sum whichever chunk or
 * thread computes it, so the result is bit-identical to one thread for any chunking. `kernel` picks the module's
 * function (default 'matmul'). Returns false (and does nothing) when the problem does not fit the shared memory.
 */
export function threadedMatMul(
  pool: ThreadPool,
  a: Float32Array | FillA,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  batchA: number,
  batchB: number,
  out: Float32Array,
  threads = pool.threads,
  chunks?: number,
  kernel: MatMulKernel = 'matmul',
): boolean {
  const batch = Math.max(batchA, batchB);
  const aFloats = batchA * m * k;
  const bFloats = batchB * k * n;
  const cFloats = batch * m * n;
  const aOff = 64;
  const bOff = align64(aOff + 4 * aFloats);
  // TILE_N floats of zeroed slack after B: the kernel's edge tile reads (and discards) up to 7 floats past a row.
  const cOff = align64(bOff + 4 * (bFloats + TILE_N));
  // And TILE_N floats of slack after C: a later k block's edge tile reloads (and discards) up to 7 past a row.
  const heap = pool.reserve(cOff + 4 * (cFloats + TILE_N));
  if (!heap) return false;
  if (typeof a === 'function') a(heap, aOff / 4);
  else heap.set(a.subarray(0, aFloats), aOff / 4);
  heap.set(b.subarray(0, bFloats), bOff / 4);
  heap.fill(0, bOff / 4 + bFloats, bOff / 4 + bFloats + TILE_N);
  const units = batch * Math.ceil(m / TILE_M);
  const t = Math.max(1, Math.min(threads, pool.threads, units));
  const params = {
    m,
    n,
    k,
    aOff,
    bOff,
    cOff,
    strideA: batchA > 1 ? 4 * m * k : 0,
    strideB: batchB > 1 ? 4 * k * n : 0,
    kernel,
  };
  const count = Math.max(1, Math.min(units, MAX_CHUNKS, chunks ?? (t === 1 ? 1 : t * matMulChunking.perThread)));
  const work: KernelCall[][] = chunkBounds(units, count).map(([u0, u1]) => rangeCalls(u0, u1, params));
  pool.runChunks(work, t);
  out.set(heap.subarray(cOff / 4, cOff / 4 + cFloats));
  return true;
}
