import * as tf from '@tensorflow/tfjs-core';
import { type HeapBackend, type Info, type KernelArgs, replaceKernel } from './kernel-types';

/** out[j] = Σ_r x[r·cols + j]: column sums of a row-major [rows, cols] array, accumulated in float64. */
export function sumLeadingRows(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    for (let j = 0; j < cols; j++) acc[j] = (acc[j] as number) + (x[o + j] as number);
  }
  out.set(acc);
}

/** Sum (wrapping tfjs-wasm's `original`): leading-axis reductions of float32 data as row sums, the rest as before. */
const leadingAxesSum =
  (original: tf.KernelConfig) =>
  (args: KernelArgs): unknown => {
    const x = args.inputs.x as Info;
    const attrs = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes =
      x.dtype === 'float32' ? [...new Set(tf.util.parseAxisParam(attrs.axis, x.shape))].sort((a, b) => a - b) : [];
    // Only a proper prefix 0 … k−1 of the axes.
    const prefix = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!prefix || tf.util.sizeFromShape(x.shape) === 0) return original.kernelFunc(args as never);
    const backend = args.backend as HeapBackend;
    const kept = x.shape.slice(axes.length);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const shape = attrs.keepDims ? [...new Array<number>(axes.length).fill(1), ...kept] : kept;
    const out = backend.makeOutput(shape, 'float32');
    const cols = tf.util.sizeFromShape(kept);
    const values = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
    sumLeadingRows(values(x), rows, cols, values(out));
    return out;
  };

const replaced = new Set<string>();

/**
 * tfjs-wasm's Sum over leading axes (a broadcast bias's gradient: [B, N, D] → [D]) first transposes the whole
 * input so the reduced axes come last. This sums the rows in place instead; any other reduction (inner axes, a
 * non-prefix set, non-float32 data) keeps the original kernel. Returns the kernels replaced by this call.
 */
export function registerLeadingAxesSum(backendName: string): string[] {
  if (backendName !== 'wasm' || replaced.has(backendName)) return [];
  if (!replaceKernel('Sum', backendName, leadingAxesSum)) return [];
  replaced.add(backendName);
  return ['Sum'];
}
