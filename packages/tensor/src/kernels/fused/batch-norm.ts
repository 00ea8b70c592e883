import * as tf from '@tensorflow/tfjs-core';
import type { Info, KernelArgs } from '../kernel-types';
import { FUSED_BACKENDS, runOnFloat32 } from './backend-data';

export const BATCH_NORM_KERNEL = 'DistilleryBatchNormTrain';
export const BATCH_NORM_GRAD_KERNEL = 'DistilleryBatchNormTrainGrad';

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
  const n = x.length;
  const m = n / c;
  const shift0 = Float64Array.from(x.subarray(0, c));
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let o = 0; o < n; o += c) {
    for (let j = 0; j < c; j++) {
      const d = (x[o + j] as number) - (shift0[j] as number);
      sum[j] = (sum[j] as number) + d;
      sq[j] = (sq[j] as number) + d * d;
    }
  }
  // y = x·scale + shift with scale = γ·rstd and shift = β − mean·scale, both in double: one multiply-add per value.
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const e = (sum[j] as number) / m;
    const mu = (shift0[j] as number) + e;
    const v = Math.max((sq[j] as number) / m - e * e, 0);
    const s = (gamma[j] as number) / Math.sqrt(v + eps);
    scale[j] = s;
    shift[j] = (beta[j] as number) - mu * s;
    mean[j] = mu;
    variance[j] = v;
  }
  for (let o = 0; o < n; o += c) {
    for (let j = 0; j < c; j++) y[o + j] = (x[o + j] as number) * (scale[j] as number) + (shift[j] as number);
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
  const n = x.length;
  const m = n / c;
  const rstd = new Float64Array(c);
  for (let j = 0; j < c; j++) rstd[j] = 1 / Math.sqrt((variance[j] as number) + eps);
  const sumDy = new Float64Array(c);
  const sumDyXc = new Float64Array(c); // Σ dy·(x − mean); ·rstd gives dγ
  for (let o = 0; o < n; o += c) {
    for (let j = 0; j < c; j++) {
      const g = dy[o + j] as number;
      sumDy[j] = (sumDy[j] as number) + g;
      sumDyXc[j] = (sumDyXc[j] as number) + g * ((x[o + j] as number) - (mean[j] as number));
    }
  }
  // dx = a·dy + b·(x − mean) + k per channel, with a = γ·rstd, b = −γ·rstd³·Σdy·(x−mean)/m + 2·dvar/m,
  // k = −γ·rstd·Σdy/m + dmean/m.
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  const k = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const r = rstd[j] as number;
    const gr = (gamma[j] as number) * r;
    a[j] = gr;
    b[j] = (-gr * r * r * (sumDyXc[j] as number) + 2 * (dvar[j] as number)) / m;
    k[j] = (-gr * (sumDy[j] as number) + (dmean[j] as number)) / m;
    dgamma[j] = (sumDyXc[j] as number) * r;
    dbeta[j] = sumDy[j] as number;
  }
  for (let o = 0; o < n; o += c) {
    for (let j = 0; j < c; j++) {
      dx[o + j] =
        (a[j] as number) * (dy[o + j] as number) +
        (b[j] as number) * ((x[o + j] as number) - (mean[j] as number)) +
        (k[j] as number);
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
