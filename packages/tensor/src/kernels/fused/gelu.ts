import * as tf from '@tensorflow/tfjs-core';
import type { Info, KernelArgs } from '../kernel-types';
import { FUSED_BACKENDS, runOnFloat32 } from './backend-data';

export const GELU_KERNEL = 'DistilleryGelu';
export const GELU_GRAD_KERNEL = 'DistilleryGeluGrad';

// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula and constants of tfjs' own Erf kernels, so the
// fused kernel agrees with the composed ops it replaces.
const P = 0.3275911;
const A1 = 0.254829592;
const A2 = -0.284496736;
const A3 = 1.421413741;
const A4 = -1.453152027;
const A5 = 1.061405429;
const INV_SQRT_2PI = 0.3989422804014327;

/** Exact GELU, y = ½·x·(1 + erf(x/√2)). */
export function geluForward(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const z = v * Math.SQRT1_2;
    const a = Math.abs(z);
    const t = 1 / (1 + P * a);
    const e = 1 - ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * Math.exp(-a * a);
    y[i] = 0.5 * v * (1 + (z < 0 ? -e : e));
  }
}

/** dx = dy · (½·(1 + erf(x/√2)) + x·φ(x)), φ the standard normal density. */
export function geluBackward(dy: Float32Array, x: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const z = v * Math.SQRT1_2;
    const a = Math.abs(z);
    const t = 1 / (1 + P * a);
    const g = Math.exp(-a * a);
    const e = 1 - ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * g;
    dx[i] = (dy[i] as number) * (0.5 * (1 + (z < 0 ? -e : e)) + v * INV_SQRT_2PI * g);
  }
}

function forwardKernel(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const [y] = runOnFloat32(args.backend, [x], [x.shape], ([xv], [yv]) =>
    geluForward(xv as Float32Array, yv as Float32Array),
  );
  return y as Info;
}

function backwardKernel(args: KernelArgs): Info {
  const { dy, x } = args.inputs as { dy: Info; x: Info };
  const [dx] = runOnFloat32(args.backend, [dy, x], [x.shape], ([dyv, xv], [dxv]) =>
    geluBackward(dyv as Float32Array, xv as Float32Array, dxv as Float32Array),
  );
  return dx as Info;
}

/** Registers the fused GELU kernels for cpu and wasm and their gradient (once). Returns what it added. */
export function registerFusedGelu(): string[] {
  const added: string[] = [];
  for (const backendName of FUSED_BACKENDS) {
    for (const [kernelName, kernelFunc] of [
      [GELU_KERNEL, forwardKernel],
      [GELU_GRAD_KERNEL, backwardKernel],
    ] as const) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
      added.push(`${backendName}/${kernelName}`);
    }
  }
  if (!tf.getGradient(GELU_KERNEL)) {
    tf.registerGradient({
      kernelName: GELU_KERNEL,
      inputsToSave: ['x'],
      gradFunc: (dy, saved) => ({
        x: () =>
          tf.engine().runKernel(GELU_GRAD_KERNEL, { dy: dy as tf.Tensor, x: saved[0] as tf.Tensor }) as tf.Tensor,
      }),
    });
    added.push(`gradient/${GELU_KERNEL}`);
  }
  return added;
}

/** The composed exact GELU (any backend): ½·x·(1 + erf(x/√2)). */
export function composedGelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/**
 * Exact GELU, ½·x·(1 + erf(x/√2)) (PyTorch's nn.GELU default, not the tanh approximation). On cpu and wasm, with
 * float32 input and Distillery's kernels registered, one fused kernel forward and one backward; elsewhere the
 * composed ops.
 */
export function fusedGelu(x: tf.Tensor): tf.Tensor {
  if (x.dtype !== 'float32' || x.size === 0 || tf.getKernel(GELU_KERNEL, tf.getBackend()) === undefined) {
    return composedGelu(x);
  }
  return tf.engine().runKernel(GELU_KERNEL, { x }) as tf.Tensor;
}
