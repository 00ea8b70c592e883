import { KERNEL_GAPS, missingKernels, runConformance, tf, ZERO_GRADIENT_KERNELS } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';

const projectBackend = process.env.DISTILLERY_TEST_BACKEND ?? 'cpu';

describe('kernel gap fills', () => {
  it('runs on the backend this project selected', () => {
    expect(tf.getBackend()).toBe(projectBackend);
  });

  it('leaves wasm with no gap that training code needs', () => {
    const missing = missingKernels('wasm');
    for (const kernel of KERNEL_GAPS.wasm ?? []) expect(missing).not.toContain(kernel);
  });

  it('gives every comparison and logical op a zero gradient', () => {
    for (const kernel of ZERO_GRADIENT_KERNELS) expect(tf.getGradient(kernel)).toBeDefined();
    const x = tf.tensor1d([-1, 0.5, 2]);
    const g = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(tf.cast(tf.logicalAnd(tf.greater(a, 0), tf.less(a, 1)), 'float32'), a)),
    )(x);
    expect(Array.from(g.dataSync())).toEqual([0, 1, 0]);
    tf.dispose([x, g]);
  });

  // Each fill (transpose-free matMul, conv filter gradient, segment sum via gather's gradient, depthwise gradients, einsum) against cpu.
  it('matches the cpu kernels on wasm for every fill (values and gradients within 1e-5)', async () => {
    const report = await runConformance(['cpu', 'wasm'], {
      only: [
        'conv2dSame',
        'conv2dStride2Valid',
        'conv2dStride2Same',
        'conv2dEvenKernelStride3',
        'depthwiseConv2d',
        'gatherRows',
        'einsum',
        'comparisonMask',
        'batchMatMulTransposed',
        'matMul',
      ],
    });
    await tf.setBackend(projectBackend);
    expect(report.errors).toEqual([]);
    expect(report.mismatches).toEqual([]);
    expect(Object.keys(report.results.wasm ?? {})).toHaveLength(10);
    // The conv filter gradient is real, not zeros.
    const filterGrad = report.results.wasm?.conv2dSame?.grad_filter?.values ?? [];
    expect(filterGrad.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it('reduces the matMul gradient of a broadcast operand to its own shape (tfjs 4.22 does not)', () => {
    const a = tf.tensor4d(
      Array.from({ length: 36 }, (_, i) => (i % 7) - 3),
      [2, 2, 3, 3],
    );
    const b = tf.tensor2d([1, 2, 0, -1, 1, 3, 2, 0, 1], [3, 3]);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([a, b]);
    // d/db Σ a·b = Σ over the four batch matrices of aᵀ·1; d/da = 1·bᵀ, broadcast to every batch.
    const expected = tf.sum(tf.matMul(a, tf.ones([2, 2, 3, 3]), true, false), [0, 1]);
    expect(gb?.shape).toEqual([3, 3]);
    expect(Array.from(gb?.dataSync() ?? [])).toEqual(Array.from(expected.dataSync()));
    expect(ga?.shape).toEqual([2, 2, 3, 3]);
    tf.dispose([a, b, ga as tf.Tensor, gb as tf.Tensor, expected]);
  });

  it('transforms every image of a batch on every backend (tfjs-cpu 4.22 transformed only the first)', () => {
    const images = tf.ones([3, 2, 2, 1]) as tf.Tensor4D;
    // identity, identity, and a shift right by one pixel (the first column is filled with 0)
    const transforms = tf.tensor2d([
      [1, 0, 0, 0, 1, 0, 0, 0],
      [1, 0, 0, 0, 1, 0, 0, 0],
      [1, 0, -1, 0, 1, 0, 0, 0],
    ]);
    const out = tf.image.transform(images, transforms, 'nearest', 'constant', 0);
    expect(Array.from(out.dataSync())).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1]);
    tf.dispose([images, transforms, out]);
  });

  it('matches a hand-computed conv filter gradient with stride and padding', () => {
    // x = 1..16 in a 4x4 single-channel image; dy = ones over the 2x2 output of a stride-2 'valid' 2x2 conv.
    // dW[kh, kw] = Σ over output positions of x at (2i+kh, 2j+kw).
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 4, 4, 1],
    );
    const w = tf.ones([2, 2, 1, 1]);
    const dW = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'valid')))(w);
    // positions (0,0),(0,2),(2,0),(2,2) → x values 1,3,9,11 for kh=kw=0 → 24; shift by kw: 2+4+10+12 = 28; etc.
    expect(Array.from(dW.dataSync())).toEqual([24, 28, 40, 44]);
    tf.dispose([x, w, dW]);
  });

  it('clones share the buffer on wasm (Identity copies nothing) and outlive the original', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const buffers = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const before = buffers();
    const y = tf.clone(x);
    // tfjs-wasm's own Identity allocated a buffer and copied into it; cpu's shares too.
    expect(y.dataId).toBe(x.dataId);
    expect(buffers()).toBe(before);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(buffers()).toBe(before - 1);
  });

  // Strided conv input gradients run as s² phase convs on wasm (no zeros spread between dy's rows, no PadV2).
  // Stride-1 ones keep only the filter taps that meet dy.
  for (const [xs, fs, stride, pad, phased] of [
    [[2, 9, 8, 3], [3, 3, 3, 4], 2, 1, true],
    [[1, 7, 7, 2], [2, 2, 2, 3], 2, 'valid', true],
    [[2, 10, 11, 3], [3, 3, 3, 2], 3, 'same', true],
    [[1, 12, 12, 3], [4, 4, 3, 5], 4, 'valid', true],
    [[1, 5, 5, 2], [1, 1, 2, 2], 2, 'valid', false], // 1×1, stride 2: odd phases have no tap (the spread path)
    // Stride 1 over maps smaller than the filter: only the taps that meet dy are kept.
    [[2, 1, 1, 5], [3, 3, 5, 4], 1, 1, true],
    [[1, 2, 3, 4], [3, 3, 4, 6], 1, 'same', true],
    [[2, 5, 4, 3], [5, 5, 3, 2], 1, 1, true],
    [[1, 6, 6, 2], [3, 3, 2, 3], 1, 'valid', true],
  ] as const) {
    it(`conv input gradient, x [${xs}], filter [${fs}], stride ${stride}, pad ${pad}: float64 loops (1e-5)`, async () => {
      const x = tf.randomNormal([...xs], 0, 1, 'float32', 11);
      const w = tf.randomNormal([...fs], 0, 1, 'float32', 12);
      const padding =
        typeof pad === 'number'
          ? ([
              [0, 0],
              [pad, pad],
              [pad, pad],
              [0, 0],
            ] as tf.backend_util.ExplicitPadding)
          : pad;
      const conv = (a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, padding);
      const y = conv(x);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 13);
      const gradient = () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(conv(a), dy)))(x);
      const dx = gradient();
      const info = tf.backend_util.computeConv2DInfo([...xs], [...fs], stride, 1, padding);
      const [, H, W, C] = xs;
      const [K, L, , O] = fs;
      const [dyv, wv] = [dy.dataSync(), w.dataSync()];
      const expected = new Array<number>(x.size).fill(0);
      for (let b = 0; b < xs[0]; b++)
        for (let oy = 0; oy < info.outHeight; oy++)
          for (let ox = 0; ox < info.outWidth; ox++)
            for (let kh = 0; kh < K; kh++)
              for (let kw = 0; kw < L; kw++) {
                const iy = oy * stride - info.padInfo.top + kh;
                const ix = ox * stride - info.padInfo.left + kw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                for (let c = 0; c < C; c++)
                  for (let o = 0; o < O; o++) {
                    const at = ((b * H + iy) * W + ix) * C + c;
                    expected[at] =
                      (expected[at] as number) +
                      (dyv[((b * info.outHeight + oy) * info.outWidth + ox) * O + o] as number) *
                        (wv[((kh * L + kw) * C + c) * O + o] as number);
                  }
              }
      const got = Array.from(dx.dataSync());
      got.forEach((g, i) => {
        expect(Math.abs(g - (expected[i] as number))).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected[i] as number)));
      });
      if (projectBackend === 'wasm') {
        // The spread path pads dy with PadV2, called inside the composed kernel (not on the engine's profile).
        const padV2 = tf.getKernel('PadV2', 'wasm') as tf.KernelConfig;
        let pads = 0;
        tf.unregisterKernel('PadV2', 'wasm');
        tf.registerKernel({
          ...padV2,
          kernelFunc: ((args: never) => {
            pads++;
            return padV2.kernelFunc(args);
          }) as tf.KernelFunc,
        });
        try {
          tf.dispose(gradient());
        } finally {
          tf.unregisterKernel('PadV2', 'wasm');
          tf.registerKernel(padV2);
        }
        expect(pads > 0).toBe(!phased);
      }
      tf.dispose([x, w, y, dy, dx]);
    });
  }
});
