import * as tf from '@tensorflow/tfjs-core';
import { type HeapBackend, type Info, replaceKernel } from './kernel-types';

type Values = tf.TypedArray;

/** Below this many elements a run is copied element by element (a `subarray` per run costs more than the copy). */
const SET_MIN_RUN = 256;

/**
 * Copies the box `begin … begin + size` of `x` (row-major, `shape`) into `out`, one contiguous run at a time: the
 * trailing dimensions taken whole and the innermost partial one make up a run, the leading ones are walked.
 */
export function copyBox(
  x: Values,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: Values,
) {
  const rank = shape.length;
  let d = rank - 1;
  let run = 1;
  while (d >= 0 && begin[d] === 0 && size[d] === shape[d]) run *= shape[d--] as number;
  if (d < 0) {
    out.set(x.subarray(0, run));
    return;
  }
  const stride = run; // the stride of dimension d
  run *= size[d] as number;
  // The leading dimensions 0 … d−1 as an odometer; `src` follows it.
  const strides = new Array<number>(d + 1);
  strides[d] = stride;
  for (let i = d - 1; i >= 0; i--) strides[i] = (strides[i + 1] as number) * (shape[i + 1] as number);
  let src = 0;
  for (let i = 0; i <= d; i++) src += (begin[i] as number) * (strides[i] as number);
  const index = new Array<number>(d).fill(0);
  const runs = out.length / Math.max(1, run);
  let dst = 0;
  for (let r = 0; r < runs; r++) {
    if (run >= SET_MIN_RUN) out.set(x.subarray(src, src + run), dst);
    else for (let k = 0; k < run; k++) out[dst + k] = x[src + k] as number;
    dst += run;
    // Next run: step the odometer from the last leading dimension.
    for (let i = d - 1; i >= 0; i--) {
      src += strides[i] as number;
      if (++(index[i] as number) < (size[i] as number)) break;
      src -= (size[i] as number) * (strides[i] as number);
      index[i] = 0;
    }
  }
}

function sliceInfo(backend: HeapBackend, x: Info, begin: number[], size: number[]): Info {
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) > 0)
    copyBox(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

const replaced = new Set<string>();

/**
 * tfjs-wasm's Slice copies a `subarray` per innermost row and falls back to an element-by-element index walk above
 * rank 4; SplitV is a Slice per part. A ViT's q/k/v split of [B, N, 3·D] is thousands of 64-float rows, ~11 ms per
 * split at D = 64. These copy each contiguous run directly (any rank). Strings and complex numbers keep the
 * original kernels. Returns the kernels replaced by this call.
 */
export function registerRunCopySlice(backendName: string): string[] {
  if (backendName !== 'wasm' || replaced.has(backendName)) return [];
  if (!tf.getKernel('Slice', backendName) || !tf.getKernel('SplitV', backendName)) return [];
  replaced.add(backendName);
  const plain = (x: Info) => x.dtype !== 'string' && x.dtype !== 'complex64';
  replaceKernel('Slice', backendName, (slice) => (args) => {
    const x = args.inputs.x as Info;
    if (!plain(x)) return slice.kernelFunc(args as never);
    const attrs = args.attrs as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.TensorInfo, attrs.begin, attrs.size) as [
      number[],
      number[],
    ];
    tf.slice_util.assertParamsValid(x as tf.TensorInfo, begin, size);
    return sliceInfo(args.backend as HeapBackend, x, begin, size);
  });
  replaceKernel('SplitV', backendName, (splitV) => (args) => {
    const x = args.inputs.x as Info;
    if (!plain(x)) return splitV.kernelFunc(args as never);
    const attrs = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.TensorInfo, attrs.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const part = sliceInfo(args.backend as HeapBackend, x, begin, size);
      begin[axis] = (begin[axis] as number) + s;
      return part;
    });
  });
  return ['Slice', 'SplitV'];
}
