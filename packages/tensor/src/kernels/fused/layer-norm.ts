import * as tf from '@tensorflow/tfjs-core';
import type { Info, KernelArgs } from '../kernel-types';
import { FUSED_BACKENDS, runOnFloat32 } from './backend-data';

export const LAYER_NORM_KERNEL = 'DistilleryLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'DistilleryLayerNormGrad';

/** y = (x − mean) · (var + eps)^−½ · γ + β per row of `d` features (biased variance), in double precision. */
export function layerNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  d: number,
  eps: number,
  y: Float32Array,
): void {
  const rows = x.length / d;
  for (let r = 0, o = 0; r < rows; r++, o += d) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += x[o + j] as number;
    const mean = sum / d;
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const c = (x[o + j] as number) - mean;
      sq += c * c;
    }
    const rstd = 1 / Math.sqrt(sq / d + eps);
    for (let j = 0; j < d; j++)
      y[o + j] = ((x[o + j] as number) - mean) * rstd * (gamma[j] as number) + (beta[j] as number);
  }
}

/**
 * The three gradients of LayerNorm in one pass per row, from dy, x and γ (mean and rstd recomputed):
 * x̂ = (x − mean)·rstd, g = dy·γ, dx = rstd · (g − mean(g) − x̂ · mean(g·x̂)), dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
 */
export function layerNormBackward(
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  d: number,
  eps: number,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
): void {
  const rows = x.length / d;
  const accGamma = new Float64Array(d);
  const accBeta = new Float64Array(d);
  const xhat = new Float64Array(d);
  for (let r = 0, o = 0; r < rows; r++, o += d) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += x[o + j] as number;
    const mean = sum / d;
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const c = (x[o + j] as number) - mean;
      sq += c * c;
    }
    const rstd = 1 / Math.sqrt(sq / d + eps);
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < d; j++) {
      const h = ((x[o + j] as number) - mean) * rstd;
      xhat[j] = h;
      const g = (dy[o + j] as number) * (gamma[j] as number);
      sumG += g;
      sumGX += g * h;
      accGamma[j] = (accGamma[j] as number) + (dy[o + j] as number) * h;
      accBeta[j] = (accBeta[j] as number) + (dy[o + j] as number);
    }
    const meanG = sumG / d;
    const meanGX = sumGX / d;
    for (let j = 0; j < d; j++) {
      const g = (dy[o + j] as number) * (gamma[j] as number);
      dx[o + j] = rstd * (g - meanG - (xhat[j] as number) * meanGX);
    }
  }
  dgamma.set(accGamma);
  dbeta.set(accBeta);
}

function forwardKernel(args: KernelArgs): Info {
  const { x, gamma, beta } = args.inputs as { x: Info; gamma: Info; beta: Info };
  const eps = (args.attrs as { epsilon: number }).epsilon;
  const d = x.shape[x.shape.length - 1] as number;
  const [y] = runOnFloat32(args.backend, [x, gamma, beta], [x.shape], ([xv, g, b], [yv]) =>
    layerNormForward(xv as Float32Array, g as Float32Array, b as Float32Array, d, eps, yv as Float32Array),
  );
  return y as Info;
}

function backwardKernel(args: KernelArgs): Info[] {
  const { dy, x, gamma } = args.inputs as { dy: Info; x: Info; gamma: Info };
  const eps = (args.attrs as { epsilon: number }).epsilon;
  const d = x.shape[x.shape.length - 1] as number;
  return runOnFloat32(args.backend, [dy, x, gamma], [x.shape, gamma.shape, gamma.shape], ([dyv, xv, g], outs) =>
    layerNormBackward(
      dyv as Float32Array,
      xv as Float32Array,
      g as Float32Array,
      d,
      eps,
      outs[0] as Float32Array,
      outs[1] as Float32Array,
      outs[2] as Float32Array,
    ),
  );
}

/** Registers the fused LayerNorm kernels for cpu and wasm and their gradient (once). Returns what it added. */
export function registerFusedLayerNorm(): string[] {
  const added: string[] = [];
  for (const backendName of FUSED_BACKENDS) {
    for (const [kernelName, kernelFunc] of [
      [LAYER_NORM_KERNEL, forwardKernel],
      [LAYER_NORM_GRAD_KERNEL, backwardKernel],
    ] as const) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
      added.push(`${backendName}/${kernelName}`);
    }
  }
  if (!tf.getGradient(LAYER_NORM_KERNEL)) {
    tf.registerGradient({
      kernelName: LAYER_NORM_KERNEL,
      inputsToSave: ['x', 'gamma'],
      gradFunc: (dy, saved, attrs) => {
        const [x, gamma] = saved as [tf.Tensor, tf.Tensor];
        // One backward kernel for the three gradients; run now, in the backward pass's scope (a lazy run inside
        // one input's gradient scope would dispose the other two outputs).
        const [dx, dgamma, dbeta] = tf
          .engine()
          .runKernel(LAYER_NORM_GRAD_KERNEL, { dy: dy as tf.Tensor, x, gamma }, attrs as never) as tf.Tensor[];
        return { x: () => dx as tf.Tensor, gamma: () => dgamma as tf.Tensor, beta: () => dbeta as tf.Tensor };
      },
    });
    added.push(`gradient/${LAYER_NORM_KERNEL}`);
  }
  return added;
}

/** The composed LayerNorm (any backend): PyTorch's nn.LayerNorm over the last axis, biased variance. */
export function composedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  });
}

/**
 * LayerNorm over the last axis (PyTorch's nn.LayerNorm: biased variance, `eps` inside the root). On cpu and wasm,
 * with float32 inputs and Distillery's kernels registered (`initBackend`/`registerKernels`), one fused kernel
 * forward and one backward (dx, dγ, dβ together); elsewhere the composed ops. Shapes are the caller's to check:
 * γ and β hold the last axis's `d` features.
 */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const fused =
    x.dtype === 'float32' &&
    gamma.dtype === 'float32' &&
    beta.dtype === 'float32' &&
    x.size > 0 &&
    tf.getKernel(LAYER_NORM_KERNEL, tf.getBackend()) !== undefined;
  if (!fused) return composedLayerNorm(x, gamma, beta, eps);
  return tf.engine().runKernel(LAYER_NORM_KERNEL, { x, gamma, beta }, { epsilon: eps }) as tf.Tensor;
}
