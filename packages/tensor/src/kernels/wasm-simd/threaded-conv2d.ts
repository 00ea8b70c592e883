import * as tf from '@tensorflow/tfjs-core';
import { currentThreadPool, type ThreadPool } from '../../threads';
import { threadedMatMul } from '../../threads/matmul';
import { type DataBackend, type Info, isHeapBackend, type KernelArgs, replaceKernel } from '../kernel-types';
import { threadedMatMulConfig } from './batch-matmul';

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/**
 * Writes the im2col matrix of an NHWC input into `heap` at float offset `at`: one row per output pixel
 * (batch, y, x), holding the filter's window in the filter's own order (kh, kw, ci), zeros where the window leaves
 * the padded input. With the HWIO filter read as a [kh·kw·ci, co] matrix, output = im2col · filter.
 */
export function im2col(x: Float32Array, info: tf.backend_util.Conv2DInfo, heap: Float32Array, at: number): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: ci, outHeight, outWidth } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  let p = at;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let fy = 0; fy < kh; fy++) {
          const iy = oy * sh - top + fy * dh;
          const rowInside = iy >= 0 && iy < H;
          for (let fx = 0; fx < kw; fx++) {
            const ix = ox * sw - left + fx * dw;
            if (!rowInside || ix < 0 || ix >= W) {
              heap.fill(0, p, p + ci);
            } else {
              const src = ((b * H + iy) * W + ix) * ci;
              if (ci >= 16) heap.set(x.subarray(src, src + ci), p);
              else for (let c = 0; c < ci; c++) heap[p + c] = x[src + c] as number;
            }
            p += ci;
          }
        }
      }
    }
  }
}

/** How many forward convolutions ran on the thread pool. */
export const wasmThreadedConv2DCalls = { count: 0 };

/**
 * Conv2D (NHWC, float32) on the thread pool as im2col · filter: the calling thread writes the im2col matrix straight
 * into the shared memory, the output rows (pixels) are split across threads, and the result lands in a tensor on
 * tfjs-wasm's heap. Null (the original kernel runs) without a pool, below the matMul threshold or the output
 * channels' (threadedMatMulConfig), for NCHW, or when the im2col matrix does not fit the shared memory.
 */
export function threadedConv2D(pool: ThreadPool, args: KernelArgs): Info | null {
  const attrs = args.attrs as ConvAttrs;
  const x = args.inputs.x as Info | undefined;
  const filter = args.inputs.filter as Info | undefined;
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.outChannels;
  if (rows < 1 || k < 1 || n < 1 || info.inChannels !== filter.shape[2]) return null;
  if (2 * rows * k * n < threadedMatMulConfig.minFlops || n < threadedMatMulConfig.convMinOutChannels) return null;
  const backend = args.backend as DataBackend;
  const outShape = [info.batchSize, info.outHeight, info.outWidth, n];
  if (!isHeapBackend(backend)) return null;
  const out = backend.makeOutput(outShape, 'float32');
  let ok = false;
  try {
    const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
    const xs = view(x);
    // mul + add even where relaxed SIMD is on: the same bits as XNNPACK's conv on one thread.
    const fill = (heap: Float32Array, at: number) => im2col(xs, info, heap, at);
    ok = threadedMatMul(pool, fill, view(filter), rows, n, k, 1, 1, view(out), pool.threads, undefined, 'matmulMulAdd');
  } finally {
    if (!ok) backend.disposeData(out.dataId);
  }
  if (ok) wasmThreadedConv2DCalls.count++;
  return ok ? out : null;
}

const wrapped = new Set<string>();

/**
 * Wraps wasm's Conv2D so that, while a thread pool runs, convolutions above the matMul threshold run on it
 * (`threadedConv2D`). The composed gradients (conv2d-backprop.ts) are forward convolutions too, so they follow. With
 * one thread nothing changes. Returns the kernels wrapped by this call.
 */
export function registerThreadedConv2D(backendName: string): string[] {
  if (backendName !== 'wasm') return [];
  const key = `${backendName}/Conv2D`;
  if (wrapped.has(key)) return [];
  const replaced = replaceKernel('Conv2D', backendName, (original) => (args) => {
    const pool = currentThreadPool();
    return (pool && threadedConv2D(pool, args)) ?? original.kernelFunc(args as never);
  });
  if (!replaced) return [];
  wrapped.add(key);
  return ['Conv2D'];
}
