import * as tf from '@tensorflow/tfjs-core';
import type { Info, KernelArgs } from '../kernel-types';
import { FUSED_BACKENDS, runOnFloat32 } from './backend-data';

export const BATCH_NORM_KERNEL = 'DistilleryBatchNormTrain';
export const BATCH_NORM_GRAD_KERNEL = 'DistilleryBatchNormTrainGrad';

/**
 * Rows per block of the loops below: a block (≤ 4 KiB of each array) stays in L1 while each group of four channels
 * runs down its rows with its sums in locals (registers), 2–3× faster than one pass with per-channel arrays.
 */
const blockRows = (c: number) => Math.max(1, Math.floor(1024 / c));

/**
 * Training-mode batch normalisation over the last (channel) axis of `x`, seen as [m, c]: per channel the batch mean
 * and biased variance over the m rows, y = (x − mean)·(var + eps)^−½·γ + β. One pass accumulates, in double
 * precision, the sums of d = x − K and d² with K each channel's first value (the shifted-data variance: var =
 * E[d²] − E[d]², which cancels nothing that matters while |mean − K| is not orders above the spread); one writes y.
 */
export function batchNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  c: number,
  eps: number,
  y: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
): void {
  const rows = x.length / c;
  const R = blockRows(c);
  const k = Float64Array.from(x.subarray(0, c));
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let r0 = 0; r0 < rows; r0 += R) {
    const r1 = Math.min(rows, r0 + R);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const [k0, k1, k2, k3] = [k[j] as number, k[j + 1] as number, k[j + 2] as number, k[j + 3] as number];
      let [a0, a1, a2, a3, q0, q1, q2, q3] = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) {
        const d0 = (x[p] as number) - k0;
        const d1 = (x[p + 1] as number) - k1;
        const d2 = (x[p + 2] as number) - k2;
        const d3 = (x[p + 3] as number) - k3;
        a0 += d0;
        a1 += d1;
        a2 += d2;
        a3 += d3;
        q0 += d0 * d0;
        q1 += d1 * d1;
        q2 += d2 * d2;
        q3 += d3 * d3;
      }
      sum[j] = (sum[j] as number) + a0;
      sum[j + 1] = (sum[j + 1] as number) + a1;
      sum[j + 2] = (sum[j + 2] as number) + a2;
      sum[j + 3] = (sum[j + 3] as number) + a3;
      sq[j] = (sq[j] as number) + q0;
      sq[j + 1] = (sq[j + 1] as number) + q1;
      sq[j + 2] = (sq[j + 2] as number) + q2;
      sq[j + 3] = (sq[j + 3] as number) + q3;
    }
    for (; j < c; j++) {
      const kj = k[j] as number;
      let a = 0;
      let q = 0;
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) {
        const d = (x[p] as number) - kj;
        a += d;
        q += d * d;
      }
      sum[j] = (sum[j] as number) + a;
      sq[j] = (sq[j] as number) + q;
    }
  }
  // y = x·scale + shift with scale = γ·rstd and shift = β − mean·scale, both in double: one multiply-add per value.
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const e = (sum[j] as number) / rows;
    const mu = (k[j] as number) + e;
    const v = Math.max((sq[j] as number) / rows - e * e, 0);
    const s = (gamma[j] as number) / Math.sqrt(v + eps);
    scale[j] = s;
    shift[j] = (beta[j] as number) - mu * s;
    mean[j] = mu;
    variance[j] = v;
  }
  affinePerChannel(x, scale, shift, c, y);
}

/** out = a·x + b per channel (a, b of c values), in the same blocks of rows and groups of four channels. */
function affinePerChannel(x: Float32Array, a: Float64Array, b: Float64Array, c: number, out: Float32Array): void {
  const rows = x.length / c;
  const R = blockRows(c);
  for (let r0 = 0; r0 < rows; r0 += R) {
    const r1 = Math.min(rows, r0 + R);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const [a0, a1, a2, a3] = [a[j] as number, a[j + 1] as number, a[j + 2] as number, a[j + 3] as number];
      const [b0, b1, b2, b3] = [b[j] as number, b[j + 1] as number, b[j + 2] as number, b[j + 3] as number];
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) {
        out[p] = (x[p] as number) * a0 + b0;
        out[p + 1] = (x[p + 1] as number) * a1 + b1;
        out[p + 2] = (x[p + 2] as number) * a2 + b2;
        out[p + 3] = (x[p + 3] as number) * a3 + b3;
      }
    }
    for (; j < c; j++) {
      const [aj, bj] = [a[j] as number, b[j] as number];
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) out[p] = (x[p] as number) * aj + bj;
    }
  }
}

/**
 * The gradients of `batchNormForward` from dy (and the gradients reaching its mean and variance outputs, zero when
 * only y is used), with mean and var the forward's outputs: x̂ = (x − mean)·rstd, dβ = Σ dy, dγ = Σ dy·x̂,
 * dx = γ·rstd/m · (m·dy − dβ − x̂·dγ) + dmean/m + dvar·2(x − mean)/m (sums over the m rows of each channel).
 */
export function batchNormBackward(
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  dmean: Float32Array,
  dvar: Float32Array,
  c: number,
  eps: number,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
): void {
  const m = x.length / c;
  const R = blockRows(c);
  const sumDy = new Float64Array(c);
  const sumDyXc = new Float64Array(c); // Σ dy·(x − mean); ·rstd gives dγ
  for (let r0 = 0; r0 < m; r0 += R) {
    const r1 = Math.min(m, r0 + R);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const [u0, u1, u2, u3] = [mean[j] as number, mean[j + 1] as number, mean[j + 2] as number, mean[j + 3] as number];
      let [a0, a1, a2, a3, q0, q1, q2, q3] = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) {
        const g0 = dy[p] as number;
        const g1 = dy[p + 1] as number;
        const g2 = dy[p + 2] as number;
        const g3 = dy[p + 3] as number;
        a0 += g0;
        a1 += g1;
        a2 += g2;
        a3 += g3;
        q0 += g0 * ((x[p] as number) - u0);
        q1 += g1 * ((x[p + 1] as number) - u1);
        q2 += g2 * ((x[p + 2] as number) - u2);
        q3 += g3 * ((x[p + 3] as number) - u3);
      }
      sumDy[j] = (sumDy[j] as number) + a0;
      sumDy[j + 1] = (sumDy[j + 1] as number) + a1;
      sumDy[j + 2] = (sumDy[j + 2] as number) + a2;
      sumDy[j + 3] = (sumDy[j + 3] as number) + a3;
      sumDyXc[j] = (sumDyXc[j] as number) + q0;
      sumDyXc[j + 1] = (sumDyXc[j + 1] as number) + q1;
      sumDyXc[j + 2] = (sumDyXc[j + 2] as number) + q2;
      sumDyXc[j + 3] = (sumDyXc[j + 3] as number) + q3;
    }
    for (; j < c; j++) {
      const u = mean[j] as number;
      let a = 0;
      let q = 0;
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) {
        const g = dy[p] as number;
        a += g;
        q += g * ((x[p] as number) - u);
      }
      sumDy[j] = (sumDy[j] as number) + a;
      sumDyXc[j] = (sumDyXc[j] as number) + q;
    }
  }
  // dx = a·dy + b·x + k per channel, with a = γ·rstd, b = −γ·rstd³·Σdy·(x−mean)/m + 2·dvar/m and
  // k = −b·mean − γ·rstd·Σdy/m + dmean/m.
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  const k = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const r = 1 / Math.sqrt((variance[j] as number) + eps);
    const gr = (gamma[j] as number) * r;
    const bj = (-gr * r * r * (sumDyXc[j] as number) + 2 * (dvar[j] as number)) / m;
    a[j] = gr;
    b[j] = bj;
    k[j] = -bj * (mean[j] as number) + (-gr * (sumDy[j] as number) + (dmean[j] as number)) / m;
    dgamma[j] = (sumDyXc[j] as number) * r;
    dbeta[j] = sumDy[j] as number;
  }
  for (let r0 = 0; r0 < m; r0 += R) {
    const r1 = Math.min(m, r0 + R);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const [a0, a1, a2, a3] = [a[j] as number, a[j + 1] as number, a[j + 2] as number, a[j + 3] as number];
      const [b0, b1, b2, b3] = [b[j] as number, b[j + 1] as number, b[j + 2] as number, b[j + 3] as number];
      const [k0, k1, k2, k3] = [k[j] as number, k[j + 1] as number, k[j + 2] as number, k[j + 3] as number];
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) {
        dx[p] = a0 * (dy[p] as number) + b0 * (x[p] as number) + k0;
        dx[p + 1] = a1 * (dy[p + 1] as number) + b1 * (x[p + 1] as number) + k1;
        dx[p + 2] = a2 * (dy[p + 2] as number) + b2 * (x[p + 2] as number) + k2;
        dx[p + 3] = a3 * (dy[p + 3] as number) + b3 * (x[p + 3] as number) + k3;
      }
    }
    for (; j < c; j++) {
      const [aj, bj, kj] = [a[j] as number, b[j] as number, k[j] as number];
      for (let p = r0 * c + j, e = r1 * c + j; p < e; p += c) {
        dx[p] = aj * (dy[p] as number) + bj * (x[p] as number) + kj;
      }
    }
  }
}

const channelsOf = (x: Info) => x.shape[x.shape.length - 1] as number;

function forwardKernel(args: KernelArgs): Info[] {
  const { x, gamma, beta } = args.inputs as { x: Info; gamma: Info; beta: Info };
  const eps = (args.attrs as { epsilon: number }).epsilon;
  const c = channelsOf(x);
  return runOnFloat32(args.backend, [x, gamma, beta], [x.shape, [c], [c]], ([xv, g, b], outs) =>
    batchNormForward(
      xv as Float32Array,
      g as Float32Array,
      b as Float32Array,
      c,
      eps,
      outs[0] as Float32Array,
      outs[1] as Float32Array,
      outs[2] as Float32Array,
    ),
  );
}

function backwardKernel(args: KernelArgs): Info[] {
  const { dy, x, gamma, mean, variance, dmean, dvar } = args.inputs as Record<string, Info>;
  const eps = (args.attrs as { epsilon: number }).epsilon;
  const c = channelsOf(x as Info);
  const ins = [dy, x, gamma, mean, variance, dmean, dvar] as Info[];
  return runOnFloat32(args.backend, ins, [(x as Info).shape, [c], [c]], (v, outs) =>
    batchNormBackward(
      v[0] as Float32Array,
      v[1] as Float32Array,
      v[2] as Float32Array,
      v[3] as Float32Array,
      v[4] as Float32Array,
      v[5] as Float32Array,
      v[6] as Float32Array,
      c,
      eps,
      outs[0] as Float32Array,
      outs[1] as Float32Array,
      outs[2] as Float32Array,
    ),
  );
}

/** Registers the fused training BatchNorm kernels for cpu and wasm and their gradient (once). Returns what it added. */
export function registerFusedBatchNorm(): string[] {
  const added: string[] = [];
  for (const backendName of FUSED_BACKENDS) {
    for (const [kernelName, kernelFunc] of [
      [BATCH_NORM_KERNEL, forwardKernel],
      [BATCH_NORM_GRAD_KERNEL, backwardKernel],
    ] as const) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
      added.push(`${backendName}/${kernelName}`);
    }
  }
  if (!tf.getGradient(BATCH_NORM_KERNEL)) {
    tf.registerGradient({
      kernelName: BATCH_NORM_KERNEL,
      inputsToSave: ['x', 'gamma'],
      outputsToSave: [false, true, true],
      gradFunc: (dys, saved, attrs) => {
        // Three outputs: the engine hands zeros for those that received no gradient (the statistics, usually).
        const [dy, dmean, dvar] = dys as tf.Tensor[];
        const [x, gamma, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        // One backward kernel for the three gradients; run now, in the backward pass's scope (a lazy run inside
        // one input's gradient scope would dispose the other two outputs).
        const [dx, dgamma, dbeta] = tf
          .engine()
          .runKernel(
            BATCH_NORM_GRAD_KERNEL,
            { dy, x, gamma, mean, variance, dmean, dvar } as unknown as tf.NamedTensorMap,
            attrs as never,
          ) as tf.Tensor[];
        return { x: () => dx as tf.Tensor, gamma: () => dgamma as tf.Tensor, beta: () => dbeta as tf.Tensor };
      },
    });
    added.push(`gradient/${BATCH_NORM_KERNEL}`);
  }
  return added;
}

/** What `fusedBatchNormTrain` returns: the normalised values and the batch statistics per channel. */
export interface BatchNormTrainResult {
  /** (x − mean)·(var + eps)^−½·γ + β, the shape of x. */
  y: tf.Tensor;
  /** The batch mean per channel, [C]. */
  mean: tf.Tensor1D;
  /** The biased batch variance per channel (divided by the m values), [C]. */
  variance: tf.Tensor1D;
}

/** The composed training BatchNorm (any backend): moments over every axis but the last, biased variance. */
export function composedBatchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): BatchNormTrainResult {
  return tf.tidy(() => {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }) as BatchNormTrainResult;
}

/**
 * Training-mode BatchNorm over the last (channel) axis (PyTorch's nn.BatchNorm2d in training, channels last): the
 * batch mean and biased variance over all other axes, y = (x − mean)·(var + eps)^−½·γ + β; the statistics are
 * returned for the caller's running-buffer update and are differentiable too. On cpu and wasm, with float32 inputs
 * and Distillery's kernels registered (`initBackend`/`registerKernels`), one fused kernel forward and one backward
 * (dx, dγ, dβ together); elsewhere (webgpu) the composed ops. Shapes are the caller's to check: γ and β hold the
 * last axis's C channels and x holds more than one value per channel (PyTorch raises otherwise).
 */
export function fusedBatchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): BatchNormTrainResult {
  const fused =
    x.dtype === 'float32' &&
    gamma.dtype === 'float32' &&
    beta.dtype === 'float32' &&
    x.size > 0 &&
    tf.getKernel(BATCH_NORM_KERNEL, tf.getBackend()) !== undefined;
  if (!fused) return composedBatchNormTrain(x, gamma, beta, eps);
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_KERNEL, { x, gamma, beta }, { epsilon: eps }) as [
    tf.Tensor,
    tf.Tensor1D,
    tf.Tensor1D,
  ];
  return { y, mean, variance };
}
