import * as tf from '@tensorflow/tfjs-core';
import { type Info, isHeapBackend, type KernelArgs, wasmHeapMemory } from '../kernel-types';
import { simdGelu } from '../wasm-simd/simd-gelu';
import { FUSED_BACKENDS, runOnFloat32 } from './backend-data';

export const GELU_KERNEL = 'DistilleryGelu';
export const GELU_GRAD_KERNEL = 'DistilleryGeluGrad';

// erf without a call to Math.exp per element (which dominated the kernel): a cubic Hermite interpolation on a
// table of erf(z) and e^(−z²) at z = k/64, 0 ≤ z ≤ 5, with their exact derivatives 2/√π·e^(−z²) and −2z·e^(−z²) as the
// slopes. Interpolation error ≤ h⁴/384·max|f⁗| < 3e-9 for both; beyond z = 5, erf = ±1 (1 − erf(5) = 1.5e-12) and
// e^(−z²) = 0. The table is computed once, in double precision, from the series
// erf(z) = 2/√π·e^(−z²)·Σ 2ⁿ z^(2n+1) / (1·3·…·(2n+1)) (all terms positive: no cancellation).
const STEPS = 64;
const Z_MAX = 5;
const NODES = Z_MAX * STEPS + 2;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_2PI = 0.3989422804014327;
const ERF = new Float64Array(NODES);
const ERF_SLOPE = new Float64Array(NODES); // d erf/dz · h
const EXP = new Float64Array(NODES); // e^(−z²)
const EXP_SLOPE = new Float64Array(NODES); // d e^(−z²)/dz · h
for (let k = 0; k < NODES; k++) {
  const z = k / STEPS;
  const e = Math.exp(-z * z);
  let term = z;
  let sum = z;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    sum += term;
  }
  ERF[k] = Math.min(1, TWO_OVER_SQRT_PI * e * sum);
  EXP[k] = e;
  ERF_SLOPE[k] = (TWO_OVER_SQRT_PI * e) / STEPS;
  EXP_SLOPE[k] = (-2 * z * e) / STEPS;
}

/** erf(z) for z ≥ 0 (table interpolation). */
function erfPositive(a: number): number {
  if (a >= Z_MAX) return 1;
  const s = a * STEPS;
  const k = s | 0;
  const t = s - k;
  const u = 1 - t;
  return (
    (1 + 2 * t) * u * u * (ERF[k] as number) +
    t * u * u * (ERF_SLOPE[k] as number) +
    t * t * (3 - 2 * t) * (ERF[k + 1] as number) -
    t * t * u * (ERF_SLOPE[k + 1] as number)
  );
}

/** e^(−z²) for z ≥ 0 (table interpolation). */
function gaussPositive(a: number): number {
  if (a >= Z_MAX) return 0;
  const s = a * STEPS;
  const k = s | 0;
  const t = s - k;
  const u = 1 - t;
  return (
    (1 + 2 * t) * u * u * (EXP[k] as number) +
    t * u * u * (EXP_SLOPE[k] as number) +
    t * t * (3 - 2 * t) * (EXP[k + 1] as number) -
    t * t * u * (EXP_SLOPE[k + 1] as number)
  );
}

/** Exact GELU, y = ½·x·(1 + erf(x/√2)). */
export function geluForward(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const e = erfPositive(Math.abs(v) * Math.SQRT1_2);
    y[i] = 0.5 * v * (1 + (v < 0 ? -e : e));
  }
}

/** dx = dy · (½·(1 + erf(x/√2)) + x·φ(x)), φ the standard normal density (φ(x) = e^(−z²)/√(2π), z = x/√2). */
export function geluBackward(dy: Float32Array, x: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const a = Math.abs(v) * Math.SQRT1_2;
    const e = erfPositive(a);
    dx[i] = (dy[i] as number) * (0.5 * (1 + (v < 0 ? -e : e)) + v * INV_SQRT_2PI * gaussPositive(a));
  }
}

// On wasm, the SIMD module (erfc by a rational fit, ~10× the JavaScript loop), in place on tfjs-wasm's heap where
// that memory is a plain one; on cpu, the table loop above.
function forwardKernel(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const simd = isHeapBackend(args.backend) ? simdGelu() : null;
  const heap = wasmHeapMemory(args.backend);
  const [y] = runOnFloat32(args.backend, [x], [x.shape], ([xv], [yv]) => {
    if (simd) simd.forward(xv as Float32Array, yv as Float32Array, heap);
    else geluForward(xv as Float32Array, yv as Float32Array);
  });
  return y as Info;
}

function backwardKernel(args: KernelArgs): Info {
  const { dy, x } = args.inputs as { dy: Info; x: Info };
  const simd = isHeapBackend(args.backend) ? simdGelu() : null;
  const heap = wasmHeapMemory(args.backend);
  const [dx] = runOnFloat32(args.backend, [dy, x], [x.shape], ([dyv, xv], [dxv]) => {
    if (simd) simd.backward(dyv as Float32Array, xv as Float32Array, dxv as Float32Array, heap);
    else geluBackward(dyv as Float32Array, xv as Float32Array, dxv as Float32Array);
  });
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
