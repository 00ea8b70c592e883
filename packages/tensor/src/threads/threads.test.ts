import { Rng, tf } from '@distillery/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimdMatMul } from '../kernels/wasm-simd/simd-matmul';
import { configureThreads, currentThreadPool, disposeThreads, threadsState } from '.';
import { chunkBounds, rangeCalls, threadedMatMul } from './matmul';
import { createThreadPool, type ThreadPool } from './pool';

const randoms = (rng: Rng, length: number) => Float32Array.from({ length }, () => rng.normal());

describe('thread pool: batched matMul split into row-block chunks claimed dynamically', () => {
  let pool2: ThreadPool;
  let pool3: ThreadPool;
  beforeAll(async () => {
    pool2 = await createThreadPool(2);
    pool3 = await createThreadPool(3);
  });
  afterAll(async () => {
    await pool2.dispose();
    await pool3.dispose();
  });

  it('gives the one-thread kernel results bit for bit on odd, tile-edge and broadcast shapes, for any chunking', () => {
    const simd = createSimdMatMul();
    if (!simd) throw new Error('no SIMD');
    const rng = new Rng(3);
    let cases = 0;
    for (const m of [1, 3, 4, 5, 9, 17, 65])
      for (const n of [1, 5, 8, 13, 65])
        for (const k of [1, 7, 64])
          for (const [batchA, batchB] of [
            [1, 1],
            [3, 3],
            [1, 4],
            [5, 1],
          ] as const) {
            const a = randoms(rng, batchA * m * k);
            const b = randoms(rng, batchB * k * n);
            const want = simd.run(a, b, m, n, k, batchA, batchB);
            const units = Math.max(batchA, batchB) * Math.ceil(m / 4);
            // The chunking cycles through the default (8 per thread), one chunk, two, an odd count and one row block
            // each; the 3-thread pool runs on 3 or 2 of its threads.
            const chunkings = [undefined, 1, 2, 7, units];
            for (const [pool, threads, chunks] of [
              [pool2, 2, undefined],
              [pool3, 2 + (cases % 2), chunkings[cases % chunkings.length]],
            ] as const) {
              const got = new Float32Array(want.length).fill(Number.NaN);
              expect(threadedMatMul(pool, a, b, m, n, k, batchA, batchB, got, threads, chunks)).toBe(true);
              expect(got).toEqual(want);
            }
            cases++;
          }
    expect(cases).toBe(7 * 5 * 3 * 4);
  });

  it('hands every output row block to exactly one call, at most three calls per chunk', () => {
    for (const [m, batch, chunks] of [
      [65, 96, 2],
      [65, 96, 16],
      [5, 7, 3],
      [5, 7, 14],
      [4, 1, 1],
      [1, 9, 4],
      [130, 3, 5],
      [130, 3, 99],
    ] as const) {
      const rowBlocks = Math.ceil(m / 4);
      const units = batch * rowBlocks;
      const covered = new Int32Array(batch * m);
      const p = { m, n: 1, k: 1, aOff: 0, bOff: 0, cOff: 0, strideA: 4 * m, strideB: 4 };
      const bounds = chunkBounds(units, chunks);
      expect(bounds.length).toBe(chunks);
      for (const [u0, u1] of bounds) {
        const calls = rangeCalls(u0, u1, p);
        expect(calls.length).toBeLessThanOrEqual(3);
        for (const call of calls) {
          const [, , , cPtr, rows, , , count] = call as number[];
          const first = (cPtr as number) / 4; // n = 1: one float per row
          for (let r = 0; r < (rows as number) * (count as number); r++) {
            const problem = Math.floor(r / (rows as number));
            covered[first + problem * m + (r % (rows as number))]! += 1;
          }
        }
      }
      expect([...covered].every((c) => c === 1)).toBe(true);
    }
  });

  it('runs every chunk once on some thread, and the chunk a thread runs does not change the result', () => {
    const rng = new Rng(5);
    const [m, n, k] = [96, 64, 48];
    const a = randoms(rng, m * k);
    const b = randoms(rng, k * n);
    const one = new Float32Array(m * n);
    expect(threadedMatMul(pool3, a, b, m, n, k, 1, 1, one, 1)).toBe(true);
    expect(pool3.lastRanBy()).toEqual([0]); // one thread: one chunk
    for (let round = 0; round < 20; round++) {
      const got = new Float32Array(m * n);
      expect(threadedMatMul(pool3, a, b, m, n, k, 1, 1, got, 3, 24)).toBe(true);
      const ranBy = pool3.lastRanBy();
      expect(ranBy.length).toBe(24);
      expect(ranBy.every((t) => t >= 0 && t < 3)).toBe(true);
      expect(got).toEqual(one);
    }
  });

  describe('a thread delayed on purpose (test hook)', () => {
    const [m, n, k] = [256, 128, 128]; // 64 row blocks, ~8 MFLOP: a few ms on one thread
    const rng = new Rng(8);
    const a = randoms(rng, m * k);
    const b = randoms(rng, k * n);
    const want = () => {
      const simd = createSimdMatMul();
      if (!simd) throw new Error('no SIMD');
      return simd.run(a, b, m, n, k, 1, 1);
    };
    afterAll(() => pool2.setDelays([]));

    it('a worker that has not started when every chunk is claimed is revoked, not waited for', () => {
      pool2.setDelays([{ thread: 1, ms: 600, where: 'start' }]);
      const got = new Float32Array(m * n);
      const t0 = performance.now();
      expect(threadedMatMul(pool2, a, b, m, n, k, 1, 1, got, 2, 32)).toBe(true);
      const ms = performance.now() - t0;
      expect(got).toEqual(want());
      expect(pool2.lastRanBy()).toEqual(new Array(32).fill(0));
      expect(ms).toBeLessThan(600);
      // The late worker wakes into a later op (or finds it revoked too): every op stays exact and complete, and the
      // worker takes chunks again once it is back.
      pool2.setDelays([]);
      let rejoined = false;
      for (const t1 = performance.now(); !rejoined && performance.now() - t1 < 5000; ) {
        const again = new Float32Array(m * n);
        expect(threadedMatMul(pool2, a, b, m, n, k, 1, 1, again, 2, 32)).toBe(true);
        expect(again).toEqual(want());
        const ranBy = pool2.lastRanBy();
        expect(ranBy.every((t) => t === 0 || t === 1)).toBe(true);
        rejoined = ranBy.includes(1);
      }
      expect(rejoined).toBe(true);
    });

    it('a worker that stalls holding a chunk delays only that chunk: the others are taken by the caller', () => {
      pool2.setDelays([{ thread: 1, ms: 300, where: 'first-chunk' }]);
      const got = new Float32Array(m * n);
      expect(threadedMatMul(pool2, a, b, m, n, k, 1, 1, got, 2, 32)).toBe(true);
      expect(got).toEqual(want());
      const ranBy = pool2.lastRanBy();
      expect(ranBy.every((t) => t === 0 || t === 1)).toBe(true);
      expect(ranBy.filter((t) => t === 1).length).toBeLessThanOrEqual(1);
    });

    it('a caller that starts late leaves the chunks to the worker, with the same result', () => {
      pool2.setDelays([{ thread: 0, ms: 300, where: 'start' }]);
      const got = new Float32Array(m * n);
      expect(threadedMatMul(pool2, a, b, m, n, k, 1, 1, got, 2, 32)).toBe(true);
      expect(got).toEqual(want());
      expect(pool2.lastRanBy().filter((t) => t === 1).length).toBeGreaterThan(16);
    });
  });

  it('reports a kernel failure in a worker instead of hanging', () => {
    // A pointer past the memory traps inside the kernel; the caller starts late, so the worker claims the chunk.
    const past = pool2.memory.buffer.byteLength + 1024;
    pool2.setDelays([{ thread: 0, ms: 500, where: 'start' }]);
    try {
      expect(() => pool2.runChunks([[[0, past, past, past, 4, 4, 4, 1, 0, 0, 0]]], 1)).toThrow(/out of bounds/);
      expect(() => pool2.runChunks([[], [[0, past, past, past, 4, 4, 4, 1, 0, 0, 0]]])).toThrow(
        /thread 1 failed|out of bounds/,
      );
    } finally {
      pool2.setDelays([]);
    }
    // The pool still works afterwards.
    const a = Float32Array.from({ length: 64 }, (_, i) => i);
    const out = new Float32Array(64);
    expect(threadedMatMul(pool2, a, a, 8, 8, 8, 1, 1, out)).toBe(true);
    expect(out[0]).toBe(Array.from({ length: 8 }, (_, p) => p * 8 * p).reduce((s, x) => s + x, 0));
  });
});

describe('configureThreads', () => {
  afterAll(async () => {
    await configureThreads(Number(process.env.DISTILLERY_THREADS ?? 1));
  });

  it('starts, resizes and stops the pool; one thread means no pool', async () => {
    expect((await configureThreads(2)).threads).toBe(2);
    expect(currentThreadPool()?.threads).toBe(2);
    expect((await configureThreads(3)).threads).toBe(3);
    expect(currentThreadPool()?.threads).toBe(3);
    expect((await configureThreads(1)).threads).toBe(1);
    expect(currentThreadPool()).toBeNull();
    await configureThreads(2);
    await disposeThreads();
    expect(currentThreadPool()).toBeNull();
    expect(threadsState()).toMatchObject({ threads: 1, reason: expect.stringMatching(/disposeThreads/) });
  });

  it('reads DISTILLERY_THREADS when no count is given, and rejects a bad one', async () => {
    const saved = process.env.DISTILLERY_THREADS;
    try {
      process.env.DISTILLERY_THREADS = '2';
      expect(await configureThreads()).toMatchObject({ threads: 2, source: 'environment' });
      process.env.DISTILLERY_THREADS = 'two';
      await expect(configureThreads()).rejects.toThrow(/DISTILLERY_THREADS: expected an integer/);
      delete process.env.DISTILLERY_THREADS;
      const cores = (await import('node:os')).availableParallelism();
      expect(await configureThreads()).toMatchObject({ requested: cores, source: 'cores' });
    } finally {
      if (saved === undefined) delete process.env.DISTILLERY_THREADS;
      else process.env.DISTILLERY_THREADS = saved;
    }
  });

  it('rejects a thread count that is not a positive integer', async () => {
    for (const bad of [0, 1.5, -2, Number.NaN, 1e6]) {
      await expect(configureThreads(bad)).rejects.toThrow(/options\.threads/);
    }
  });
});

// Only meaningful where tf runs on wasm; the cpu project still exercises the pool above.
const onWasm = process.env.DISTILLERY_TEST_BACKEND === 'wasm';
describe.runIf(onWasm)('tf.matMul on the wasm backend with threads', () => {
  afterAll(async () => {
    await configureThreads(Number(process.env.DISTILLERY_THREADS ?? 1));
  });

  it('leaves products under 2 MFLOP or 20 flops per byte on the calling thread (in place on the heap)', async () => {
    const { withThreadedMatMulConfig, wasmThreadedMatMulCalls } = await import('../kernels/wasm-simd/batch-matmul');
    // The defaults, whatever the project's environment set.
    await withThreadedMatMulConfig({ minFlops: 2 ** 21, minFlopsPerByte: 20 }, async () => {
      await configureThreads(2);
      const pooled = (m: number, k: number, n: number) => {
        const before = wasmThreadedMatMulCalls.count;
        const [a, b] = [tf.randomNormal([m, k]), tf.randomNormal([k, n])];
        tf.dispose([tf.matMul(a, b), a, b]);
        return wasmThreadedMatMulCalls.count - before;
      };
      // 1 MFLOP; 4 MFLOP at 15 flops/byte; 8 MFLOP at 26; 34 MFLOP at 43.
      expect([pooled(64, 64, 128), pooled(512, 64, 64), pooled(128, 256, 128), pooled(256, 256, 256)]).toEqual([
        0, 0, 1, 1,
      ]);
    });
  });

  it('equals the one-thread path (transposes, broadcast batches, single products) and takes the pool', async () => {
    const { withThreadedMatMulConfig, wasmThreadedMatMulCalls } = await import('../kernels/wasm-simd/batch-matmul');
    const cases: [number[], number[], boolean, boolean][] = [
      [[65, 192], [192, 576], false, false],
      [[33, 7], [7, 5], false, false],
      [[2, 3, 17, 9], [2, 3, 9, 13], false, false],
      [[6, 65, 64], [6, 65, 64], false, true],
      [[6, 64, 65], [6, 64, 65], true, false],
      [[4, 5, 7], [7, 3], false, false],
      [[9, 8], [3, 8, 11], false, false],
      [[130, 48], [130, 96], true, false],
      [[37, 300], [300, 1029], false, false], // k blocks of 56
    ];
    await withThreadedMatMulConfig({ minFlops: 0, minFlopsPerByte: 0 }, async () => {
      const results = async (threads: number) => {
        await configureThreads(threads);
        const before = wasmThreadedMatMulCalls.count;
        const out = cases.map(([sa, sb, tA, tB], i) => {
          const r = new Rng(100 + i);
          const a = tf.tensor(
            randoms(
              r,
              sa.reduce((x, y) => x * y, 1),
            ),
            sa,
          );
          const b = tf.tensor(
            randoms(
              r,
              sb.reduce((x, y) => x * y, 1),
            ),
            sb,
          );
          const y = tf.matMul(a, b, tA, tB);
          const v = y.dataSync().slice();
          tf.dispose([a, b, y]);
          return v;
        });
        return { out, calls: wasmThreadedMatMulCalls.count - before };
      };
      const one = await results(1);
      const two = await results(2);
      expect(one.calls).toBe(0);
      expect(two.calls).toBe(cases.length);
      // One thread and the pool run the same kernel function: every element is the same k-ordered sum.
      for (let i = 0; i < cases.length; i++) expect(two.out[i], `case ${i}`).toEqual(one.out[i]);
    });
  });
});

describe.runIf(onWasm)('tf.conv2d and its gradients on the wasm backend with threads', () => {
  afterAll(async () => {
    await configureThreads(Number(process.env.DISTILLERY_THREADS ?? 1));
  });

  it('leave convs of fewer than 64 output channels to XNNPACK even with a pool (the im2col is serial)', async () => {
    const { withThreadedMatMulConfig } = await import('../kernels/wasm-simd/batch-matmul');
    const { wasmThreadedConv2DCalls } = await import('../kernels/wasm-simd/threaded-conv2d');
    // The default channel threshold, with every conv above it pooled.
    await withThreadedMatMulConfig({ minFlops: 0, convMinOutChannels: 64 }, async () => {
      await configureThreads(2);
      const x = tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D;
      const pooled = (channels: number) => {
        const before = wasmThreadedConv2DCalls.count;
        const f = tf.randomNormal([3, 3, 4, channels]) as tf.Tensor4D;
        tf.dispose([tf.conv2d(x, f, 1, 'same'), f]);
        return wasmThreadedConv2DCalls.count - before;
      };
      expect([pooled(63), pooled(64)]).toEqual([0, 1]);
      x.dispose();
    });
  });

  it('equal the one-thread path (padding, strides, dilation, patchify, 1×1) and take the pool', async () => {
    const { withThreadedMatMulConfig } = await import('../kernels/wasm-simd/batch-matmul');
    const { wasmThreadedConv2DCalls } = await import('../kernels/wasm-simd/threaded-conv2d');
    // [x shape, filter shape, stride, pad, dilation]
    type Shape4 = [number, number, number, number];
    const cases: [Shape4, Shape4, number, 'same' | 'valid', number][] = [
      [[2, 9, 9, 5], [3, 3, 5, 7], 1, 'same', 1],
      [[3, 11, 10, 4], [3, 3, 4, 6], 2, 'valid', 1],
      [[2, 12, 12, 3], [4, 4, 3, 16], 4, 'valid', 1],
      [[2, 9, 9, 17], [3, 3, 17, 5], 1, 'same', 2],
      [[2, 7, 7, 20], [1, 1, 20, 9], 1, 'valid', 1],
      [[1, 8, 8, 3], [3, 3, 3, 4], 2, 'same', 1],
    ];
    await withThreadedMatMulConfig({ minFlops: 0, convMinOutChannels: 0 }, async () => {
      const results = async (threads: number) => {
        await configureThreads(threads);
        const before = wasmThreadedConv2DCalls.count;
        const out = cases.map(([xs, fs, stride, pad, dilation], i) => {
          const r = new Rng(200 + i);
          const x = tf.tensor(
            randoms(
              r,
              xs.reduce((p, q) => p * q, 1),
            ),
            xs,
          ) as tf.Tensor4D;
          const f = tf.tensor(
            randoms(
              r,
              fs.reduce((p, q) => p * q, 1),
            ),
            fs,
          ) as tf.Tensor4D;
          const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, stride, pad, 'NHWC', dilation);
          const y = conv(x, f);
          const dy = tf.tensor(randoms(r, y.size), y.shape);
          // tfjs has no conv gradient with dilation: that case checks the forward only.
          const [dx, df] =
            dilation > 1
              ? [tf.zeros([1]), tf.zeros([1])]
              : tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([
                  x,
                  f,
                ]);
          const v = [y, dx, df].map((t) => (t as tf.Tensor).dataSync().slice());
          tf.dispose([x, f, y, dy, dx as tf.Tensor, df as tf.Tensor]);
          return v;
        });
        return { out, calls: wasmThreadedConv2DCalls.count - before };
      };
      const one = await results(1);
      const two = await results(2);
      expect(one.calls).toBe(0);
      // Each case's forward, then (inside tf.grads) its forward again and both gradients as forward convs; dx of a
      // stride-s conv is s² phase convs (strides 2, 4 and 2 above: 3 + 15 + 3 more).
      expect(two.calls).toBe(4 * (cases.length - 1) + 1 + 3 + 15 + 3);
      // One thread runs XNNPACK's conv, the pool an im2col and the kernel's mul + add function (matmulMulAdd, even
      // where relaxed SIMD is on): the same float32 sums in the same order, so the same bits.
      for (let i = 0; i < cases.length; i++) {
        for (let j = 0; j < 3; j++) expect(two.out[i]?.[j], `case ${i}, output ${j}`).toEqual(one.out[i]?.[j]);
      }
    });
  });
});
