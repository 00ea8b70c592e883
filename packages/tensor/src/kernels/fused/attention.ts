import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkOptions, formatShape, invalid } from '../../errors';
import { currentThreadPool } from '../../threads';
import { threadedMatMul } from '../../threads/matmul';
import { assertDtype, assertRank, assertTensor } from '../../validation';
import { type DataBackend, type Info, isHeapBackend, type KernelArgs } from '../kernel-types';
import { threadedMatMulConfig } from '../wasm-simd/batch-matmul';
import { createSimdMatMul, type SimdMatMul } from '../wasm-simd/simd-matmul';
import { runOnFloat32 } from './backend-data';

export const ATTENTION_KERNEL = 'DistilleryAttention';
export const ATTENTION_GRAD_KERNEL = 'DistilleryAttentionGrad';

/** Batched C = A·B, row-major float32: `batch` problems of A [m×k] and B [k×n] into `out` [m×n]. */
export type BatchedMatMul = (
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  batch: number,
  out: Float32Array,
) => void;

/** The cpu backend's product: a plain loop, each output row summed in float64 over k in order. */
export const jsMatMul: BatchedMatMul = (a, b, m, n, k, batch, out) => {
  const row = new Float64Array(n);
  for (let p = 0; p < batch; p++) {
    const aOff = p * m * k;
    const bOff = p * k * n;
    const cOff = p * m * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let t = 0; t < k; t++) {
        const s = a[aOff + i * k + t] as number;
        const bRow = bOff + t * n;
        for (let j = 0; j < n; j++) row[j] = (row[j] as number) + s * (b[bRow + j] as number);
      }
      for (let j = 0; j < n; j++) out[cOff + i * n + j] = row[j] as number;
    }
  }
};

let simd: SimdMatMul | null | undefined;
/** How many products the wasm attention kernels ran on the thread pool (tests check the pool is really used). */
export const attentionThreadedMatMulCalls = { count: 0 };

/**
 * The wasm backend's product: on the thread pool when one runs and the product is big enough to pay for waking it
 * (the threshold the batched matMul uses), else the one-thread SIMD kernel, else the loop. The pool splits output
 * row blocks and every element is the same k-ordered sum as on one thread, so the result does not depend on the
 * thread count.
 */
export const wasmMatMul: BatchedMatMul = (a, b, m, n, k, batch, out) => {
  const pool = currentThreadPool();
  if (pool && 2 * batch * m * n * k >= threadedMatMulConfig.minFlops) {
    if (threadedMatMul(pool, a, b, m, n, k, batch, batch, out)) {
      attentionThreadedMatMulCalls.count++;
      return;
    }
  }
  if (simd === undefined) simd = createSimdMatMul();
  if (simd) simd.run(a, b, m, n, k, batch, batch, out);
  else jsMatMul(a, b, m, n, k, batch, out);
};

const scratchSlots: Float32Array[] = [];
/**
 * Work buffer `slot` of at least `length` floats, kept between calls (the kernels run synchronously, one at a time):
 * allocating and zero-filling three or four attention-sized arrays per call (1.6 MB each at DeiT-Tiny B32) cost more
 * than the element-wise work they hold. Contents are stale; every user overwrites what it reads.
 */
function scratch(slot: number, length: number): Float32Array {
  let buffer = scratchSlots[slot];
  if (!buffer || buffer.length < length) {
    buffer = new Float32Array(length);
    scratchSlots[slot] = buffer;
  }
  return buffer.subarray(0, length);
}

/** Writes each of `batch` row-major [rows×cols] matrices of `x` transposed ([cols×rows]), times `scale`, into `out`. */
function transposeEach(
  x: Float32Array,
  batch: number,
  rows: number,
  cols: number,
  out: Float32Array,
  scale = 1,
): Float32Array {
  const size = rows * cols;
  for (let p = 0, o = 0; p < batch; p++, o += size) {
    for (let i = 0; i < rows; i++) {
      const src = o + i * cols;
      if (scale === 1) for (let j = 0; j < cols; j++) out[o + j * rows + i] = x[src + j] as number;
      else for (let j = 0; j < cols; j++) out[o + j * rows + i] = scale * (x[src + j] as number);
    }
  }
  return out;
}

/** Sizes of one attention call: batch·heads problems of q [nq×d], k [nk×d], v [nk×dv]; the mask's strides. */
export interface AttentionDims {
  batch: number;
  heads: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
  /** The additive mask's shape, rank 4, every axis 1 (broadcast) or the full size; absent without a mask. */
  maskShape?: readonly number[];
}

/** Strides of the mask over (batch, head, query, key): 0 along a broadcast axis. */
function maskStrides(shape: readonly number[]): [number, number, number, number] {
  const [mb, mh, mq, mk] = shape as [number, number, number, number];
  return [mb > 1 ? mh * mq * mk : 0, mh > 1 ? mq * mk : 0, mq > 1 ? mk : 0, mk > 1 ? 1 : 0];
}

/**
 * S = Q·(scale·Kᵀ) + mask (float32), written into `s` [B, H, Nq, Nk]. The scale rides on the transpose of K that the
 * product needs anyway (no pass over S; for a power-of-two scale, as d^−½ at d = 64, bit for bit scale·(Q·Kᵀ)).
 */
export function attentionLogits(
  mm: BatchedMatMul,
  q: Float32Array,
  k: Float32Array,
  mask: Float32Array | null,
  dims: AttentionDims,
  scale: number,
  s: Float32Array,
): void {
  const { batch, heads, nq, nk, d } = dims;
  const problems = batch * heads;
  mm(q, transposeEach(k, problems, nk, d, scratch(0, problems * d * nk), scale), nq, nk, d, problems, s);
  if (!mask || !dims.maskShape) return;
  const [sb, sh, sq, sk] = maskStrides(dims.maskShape);
  for (let b = 0, row = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < nq; i++, row += nk) {
        const mRow = b * sb + h * sh + i * sq;
        for (let j = 0; j < nk; j++) s[row + j] = (s[row + j] as number) + (mask[mRow + j * sk] as number);
      }
    }
  }
}

/** Softmax of each `n`-wide row of `x`, in place (max-subtracted, summed in float64). */
export function softmaxRows(x: Float32Array, n: number): void {
  const e = new Float64Array(n);
  for (let row = 0; row < x.length; row += n) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) if ((x[row + j] as number) > max) max = x[row + j] as number;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const z = Math.exp((x[row + j] as number) - max);
      e[j] = z;
      sum += z;
    }
    const inv = 1 / sum;
    for (let j = 0; j < n; j++) x[row + j] = (e[j] as number) * inv;
  }
}

/**
 * Forward: P = softmax(scale·Q·Kᵀ + mask) row by row, O = P·V. Writes O and P (P is kept for the backward pass).
 * `softmax` runs the rows' softmax in place (default: `softmaxRows`).
 */
export function attentionForward(
  mm: BatchedMatMul,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  mask: Float32Array | null,
  dims: AttentionDims,
  scale: number,
  o: Float32Array,
  p: Float32Array,
): void {
  const { batch, heads, nq, nk, dv } = dims;
  attentionLogits(mm, q, k, mask, dims, scale, p);
  softmaxRows(p, nk);
  mm(p, v, nq, dv, nk, batch * heads, o);
}

/**
 * Backward from dO and the kept P: dV = Pᵀ·dO; dP = dO·Vᵀ; dZ = P ⊙ (dP − rowsum(dP ⊙ P)) (the softmax Jacobian);
 * dMask = dZ summed over the mask's broadcast axes (float64, in a fixed order); dS = scale·dZ; dQ = dS·K;
 * dK = dSᵀ·Q.
 */
export function attentionBackward(
  mm: BatchedMatMul,
  dO: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  p: Float32Array,
  dims: AttentionDims,
  scale: number,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  dMask: Float32Array | null,
): void {
  const { batch, heads, nq, nk, d, dv: dvDim } = dims;
  const problems = batch * heads;
  const square = scratch(0, problems * nq * nk);
  mm(transposeEach(p, problems, nq, nk, square), dO, nk, dvDim, nq, problems, dv);
  const ds = scratch(1, problems * nq * nk);
  mm(dO, transposeEach(v, problems, nk, dvDim, scratch(2, problems * dvDim * nk)), nq, nk, dvDim, problems, ds);
  const [sb, sh, sq, sk] = dMask && dims.maskShape ? maskStrides(dims.maskShape) : [0, 0, 0, 0];
  const maskAcc = dMask ? new Float64Array(dMask.length) : null;
  for (let b = 0, row = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < nq; i++, row += nk) {
        let dot = 0;
        for (let j = 0; j < nk; j++) dot += (ds[row + j] as number) * (p[row + j] as number);
        const mRow = b * sb + h * sh + i * sq;
        for (let j = 0; j < nk; j++) {
          const dz = (p[row + j] as number) * ((ds[row + j] as number) - dot);
          if (maskAcc) maskAcc[mRow + j * sk] = (maskAcc[mRow + j * sk] as number) + dz;
          ds[row + j] = scale * dz;
        }
      }
    }
  }
  if (dMask && maskAcc) dMask.set(maskAcc);
  mm(ds, k, nq, d, nk, problems, dq);
  mm(transposeEach(ds, problems, nq, nk, square), q, nk, d, nq, problems, dk);
}

type AttentionAttrs = { scale: number; maskShape: number[] };

function dimsOf(q: Info, k: Info, v: Info, maskShape: number[]): AttentionDims {
  const [batch, heads, nq, d] = q.shape as [number, number, number, number];
  const nk = k.shape[2] as number;
  const dv = v.shape[3] as number;
  return { batch, heads, nq, nk, d, dv, ...(maskShape.length ? { maskShape } : {}) };
}

function forwardKernel(mm: BatchedMatMul) {
  return (args: KernelArgs): Info[] => {
    const { q, k, v, mask } = args.inputs as { q: Info; k: Info; v: Info; mask?: Info };
    const { scale, maskShape } = args.attrs as AttentionAttrs;
    const dims = dimsOf(q, k, v, maskShape);
    const { batch, heads, nq, nk, dv } = dims;
    const inputs = mask ? [q, k, v, mask] : [q, k, v];
    return runOnFloat32(
      args.backend,
      inputs,
      [
        [batch, heads, nq, dv],
        [batch, heads, nq, nk],
      ],
      ([qv, kv, vv, mv], [o, p]) =>
        attentionForward(
          mm,
          qv as Float32Array,
          kv as Float32Array,
          vv as Float32Array,
          mv ?? null,
          dims,
          scale,
          o as Float32Array,
          p as Float32Array,
        ),
    );
  };
}

/**
 * The wasm forward: S = scale·Q·Kᵀ + mask goes into a heap tensor, whose rows tfjs-wasm's own Softmax kernel turns
 * into P (native code, ~10× faster than Math.exp per element in JavaScript), then O = P·V. Each step views the heap
 * only after the allocation before it (an allocation may grow the heap and detach earlier views).
 */
function wasmForwardKernel(args: KernelArgs): Info[] {
  const backend = args.backend as DataBackend;
  const softmax = tf.getKernel('Softmax', 'wasm');
  if (!softmax || !isHeapBackend(backend)) return forwardKernel(wasmMatMul)(args);
  const makeOutput = backend.makeOutput.bind(backend);
  const view = (x: Info) => backend.typedArrayFromHeap(x) as Float32Array;
  const { q, k, v, mask } = args.inputs as { q: Info; k: Info; v: Info; mask?: Info };
  const { scale, maskShape } = args.attrs as AttentionAttrs;
  const dims = dimsOf(q, k, v, maskShape);
  const { batch, heads, nq, nk, dv } = dims;
  const logits = makeOutput([batch, heads, nq, nk], 'float32');
  let probs: Info;
  try {
    attentionLogits(wasmMatMul, view(q), view(k), mask ? view(mask) : null, dims, scale, view(logits));
    probs = softmax.kernelFunc({
      inputs: { logits },
      backend: args.backend,
      attrs: { dim: 3 },
    } as unknown as Parameters<tf.KernelFunc>[0]) as unknown as Info;
  } finally {
    backend.disposeData(logits.dataId);
  }
  const out = makeOutput([batch, heads, nq, dv], 'float32');
  try {
    wasmMatMul(view(probs), view(v), nq, dv, nk, batch * heads, view(out));
  } catch (error) {
    backend.disposeData(out.dataId);
    backend.disposeData(probs.dataId);
    throw error;
  }
  return [out, probs];
}

function backwardKernel(mm: BatchedMatMul) {
  return (args: KernelArgs): Info[] => {
    const { dy, q, k, v, probs } = args.inputs as { dy: Info; q: Info; k: Info; v: Info; probs: Info };
    const { scale, maskShape } = args.attrs as AttentionAttrs;
    const dims = dimsOf(q, k, v, maskShape);
    const outShapes = [q.shape, k.shape, v.shape, ...(maskShape.length ? [maskShape] : [])];
    return runOnFloat32(args.backend, [dy, q, k, v, probs], outShapes, ([dyv, qv, kv, vv, pv], outs) =>
      attentionBackward(
        mm,
        dyv as Float32Array,
        qv as Float32Array,
        kv as Float32Array,
        vv as Float32Array,
        pv as Float32Array,
        dims,
        scale,
        outs[0] as Float32Array,
        outs[1] as Float32Array,
        outs[2] as Float32Array,
        outs[3] ?? null,
      ),
    );
  };
}

/** Registers the fused attention kernels for cpu and wasm and their gradient (once). Returns what it added. */
export function registerFusedAttention(): string[] {
  const added: string[] = [];
  for (const [backendName, forward, mm] of [
    ['cpu', forwardKernel(jsMatMul), jsMatMul],
    ['wasm', wasmForwardKernel, wasmMatMul],
  ] as const) {
    for (const [kernelName, kernelFunc] of [
      [ATTENTION_KERNEL, forward],
      [ATTENTION_GRAD_KERNEL, backwardKernel(mm)],
    ] as const) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
      added.push(`${backendName}/${kernelName}`);
    }
  }
  if (!tf.getGradient(ATTENTION_KERNEL)) {
    tf.registerGradient({
      kernelName: ATTENTION_KERNEL,
      inputsToSave: ['q', 'k', 'v'],
      outputsToSave: [false, true],
      gradFunc: (dys, saved, attrs) => {
        const [q, k, v, probs] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        // The probabilities are an internal output: only dO flows back (tfjs hands a zero tensor for dP).
        const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
        // One backward kernel for every gradient; run now, in the backward pass's scope (a lazy run inside one
        // input's gradient scope would dispose the other outputs).
        const [dq, dk, dv, dMask] = tf
          .engine()
          .runKernel(ATTENTION_GRAD_KERNEL, { dy, q, k, v, probs }, attrs as never) as tf.Tensor[];
        return {
          q: () => dq as tf.Tensor,
          k: () => dk as tf.Tensor,
          v: () => dv as tf.Tensor,
          ...(dMask ? { mask: () => dMask } : {}),
        };
      },
    });
    added.push(`gradient/${ATTENTION_KERNEL}`);
  }
  return added;
}

/** The composed ops (any backend, differentiated by tfjs): softmax(scale·Q·Kᵀ + mask)·V. */
export function composedAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  scale: number,
  mask?: tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    const logits = tf.mul(tf.matMul(q, k, false, true), scale);
    return tf.matMul(tf.softmax(mask ? tf.add(logits, mask) : logits), v);
  });
}

export interface ScaledDotProductAttentionOptions {
  /** Multiplies Q·Kᵀ; default d^−½ (d = the last axis of q), as in PyTorch and timm. */
  scale?: number;
  /**
   * Added to the scaled logits before the softmax (PyTorch's float `attn_mask`): a float32 tensor of rank ≤ 4 whose
   * axes, aligned to the right of [B, H, Nq, Nk], are 1 (broadcast) or the full size — a relative-position bias
   * [H, Nq, Nk], a padding mask [B, 1, 1, Nk] with −∞ at masked keys. Differentiable (its gradient is summed over
   * the broadcast axes). A row masked entirely is 0/0 (NaN), as in PyTorch.
   */
  mask?: tf.Tensor;
}

/**
 * Scaled dot-product attention as one op: out = softmax(Q·Kᵀ·scale + mask)·V ("Attention Is All You Need",
 * arXiv:1706.03762, §3.2.1 eq. 1; timm's layers/attention.py `Attention.forward`, whose `fused_attn` path calls
 * `F.scaled_dot_product_attention`). q [B, H, Nq, d], k [B, H, Nk, d], v [B, H, Nk, dv] → [B, H, Nq, dv].
 *
 * On cpu and wasm with Distillery's kernels registered (`initBackend` / `registerKernels`) it runs one kernel
 * forward and one backward (dQ, dK, dV and dMask together; the probabilities are kept from the forward, as the
 * composed ops keep softmax's output, rather than recomputed, which would cost Q·Kᵀ and the softmax again). On wasm
 * the four products run on the SIMD matMul and, when threads run, on the thread pool (the result does not depend
 * on the thread count). Elsewhere (webgpu, …) and for non-float32 inputs it composes tfjs ops.
 * Defaults: `scale` = d^−½, no mask.
 */
export function scaledDotProductAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  options: ScaledDotProductAttentionOptions = {},
): tf.Tensor4D {
  const opts = checkOptions<ScaledDotProductAttentionOptions>(options, { scale: true, mask: true });
  const qt = assertRank(q, 4, 'q');
  const kt = assertRank(k, 4, 'k');
  const vt = assertRank(v, 4, 'v');
  for (const [t, name] of [
    [qt, 'q'],
    [kt, 'k'],
    [vt, 'v'],
  ] as const)
    assertDtype(t, ['float32'], name);
  const [batch, heads, nq, d] = qt.shape as [number, number, number, number];
  const nk = kt.shape[2] as number;
  if (kt.shape[0] !== batch || kt.shape[1] !== heads || kt.shape[3] !== d) {
    throw invalid(
      'SHAPE_MISMATCH',
      'k',
      `[${batch}, ${heads}, Nk, ${d}] (q's batch, heads and d)`,
      `shape ${formatShape(kt.shape)}`,
    );
  }
  if (vt.shape[0] !== batch || vt.shape[1] !== heads || vt.shape[2] !== nk) {
    throw invalid(
      'SHAPE_MISMATCH',
      'v',
      `[${batch}, ${heads}, ${nk}, dv] (q's batch and heads, k's Nk)`,
      `shape ${formatShape(vt.shape)}`,
    );
  }
  if (nk < 1 || d < 1) {
    throw invalid(
      'EMPTY_INPUT',
      nk < 1 ? 'k' : 'q',
      'at least one key and one feature (Nk >= 1, d >= 1)',
      `shape ${formatShape(kt.shape)}`,
    );
  }
  const scale = opts.scale === undefined ? d ** -0.5 : checkNumber(opts.scale, 'options.scale');
  let maskShape: number[] = [];
  if (opts.mask !== undefined) {
    const m = assertTensor(opts.mask, 'options.mask');
    assertDtype(m, ['float32'], 'options.mask');
    const full = [batch, heads, nq, nk];
    maskShape = [...new Array<number>(Math.max(0, 4 - m.rank)).fill(1), ...m.shape];
    if (m.rank > 4 || maskShape.some((s, i) => s !== 1 && s !== full[i])) {
      throw invalid(
        'SHAPE_MISMATCH',
        'options.mask',
        `a shape that broadcasts to ${formatShape(full)} (each axis 1 or the full size, rank <= 4)`,
        `shape ${formatShape(m.shape)}`,
      );
    }
  }
  const fused = qt.size > 0 && vt.size > 0 && tf.getKernel(ATTENTION_KERNEL, tf.getBackend()) !== undefined;
  return tf.tidy(() => {
    const mask = opts.mask && (opts.mask.rank === 4 ? opts.mask : tf.reshape(opts.mask, maskShape));
    if (!fused) return composedAttention(qt, kt, vt, scale, mask) as tf.Tensor4D;
    const inputs: tf.NamedTensorMap = mask ? { q: qt, k: kt, v: vt, mask } : { q: qt, k: kt, v: vt };
    const [out] = tf.engine().runKernel(ATTENTION_KERNEL, inputs, { scale, maskShape } as never) as tf.Tensor[];
    return out as tf.Tensor4D;
  });
}
