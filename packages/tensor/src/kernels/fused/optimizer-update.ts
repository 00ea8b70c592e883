import * as tf from '@tensorflow/tfjs-core';
import type { Info, KernelArgs } from '../kernel-types';
import { FUSED_BACKENDS, runOnFloat32 } from './backend-data';

export const ADAMW_UPDATE_KERNEL = 'DistilleryAdamWUpdate';
export const SGD_UPDATE_KERNEL = 'DistillerySgdUpdate';

const f = Math.fround;

/** Attributes of one AdamW update (PyTorch torch.optim.AdamW 1.13, `_single_tensor_adamw`). */
export interface AdamWUpdateAttrs {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − β1^t and 1 − β2^t. */
  bc1: number;
  bc2: number;
  amsgrad: boolean;
}

/**
 * One AdamW step for one parameter in one pass, bit for bit the float32 sequence of the composed ops that
 * `@distillery/train`'s AdamW ran before (each op rounds to float32; each scalar is a float32 constant):
 * w ← w·(1 − lr·λ); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; (v̂ ← max(v̂, v));
 * w ← w − (m / (√v / √bc2 + ε)) · (lr / bc1). Float64 arithmetic rounded after each operation gives the float32
 * result of each operation exactly (one double rounding is innocuous for +, −, ×, ÷ and √ of float32 operands).
 */
export function adamWUpdate(
  a: AdamWUpdateAttrs,
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vmax: Float32Array | null,
  pOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  vmaxOut: Float32Array | null,
): void {
  const decay = a.weightDecay !== 0 ? f(1 - a.lr * a.weightDecay) : 1;
  const b1 = f(a.beta1);
  const c1 = f(1 - a.beta1);
  const b2 = f(a.beta2);
  const c2 = f(1 - a.beta2);
  const sqrtBc2 = f(Math.sqrt(a.bc2));
  const eps = f(a.eps);
  const stepSize = f(a.lr / a.bc1);
  for (let i = 0; i < p.length; i++) {
    const w = a.weightDecay !== 0 ? f((p[i] as number) * decay) : (p[i] as number);
    const gi = g[i] as number;
    const mi = f(f((m[i] as number) * b1) + f(gi * c1));
    const vi = f(f((v[i] as number) * b2) + f(f(gi * gi) * c2));
    let second = vi;
    if (vmax && vmaxOut) {
      second = Math.max(vmax[i] as number, vi);
      vmaxOut[i] = second;
    }
    const denom = f(f(f(Math.sqrt(second)) / sqrtBc2) + eps);
    pOut[i] = w - f(f(mi / denom) * stepSize);
    mOut[i] = mi;
    vOut[i] = vi;
  }
}

/** Attributes of one SGD update (PyTorch torch.optim.SGD 1.13). `first`: the momentum buffer starts as d. */
export interface SgdUpdateAttrs {
  lr: number;
  weightDecay: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  first: boolean;
}

/**
 * One SGD step for one parameter in one pass, bit for bit the float32 sequence of the composed ops:
 * d = g + λ·w; b = d (first step) | μ·b + (1 − τ)·d; d = d + μ·b (nesterov) | b; w ← w − lr·d.
 */
export function sgdUpdate(
  a: SgdUpdateAttrs,
  p: Float32Array,
  g: Float32Array,
  buf: Float32Array | null,
  pOut: Float32Array,
  bufOut: Float32Array | null,
): void {
  const wd = f(a.weightDecay);
  const mu = f(a.momentum);
  const keep = f(1 - a.dampening);
  const lr = f(a.lr);
  for (let i = 0; i < p.length; i++) {
    const w = p[i] as number;
    let d = a.weightDecay !== 0 ? f((g[i] as number) + f(w * wd)) : (g[i] as number);
    if (bufOut) {
      const b = a.first || !buf ? d : f(f((buf[i] as number) * mu) + f(d * keep));
      bufOut[i] = b;
      d = a.nesterov ? f(d + f(b * mu)) : b;
    }
    pOut[i] = w - f(d * lr);
  }
}

function adamWKernel(args: KernelArgs): Info[] {
  const { param, grad, m, v, vmax } = args.inputs as Record<string, Info>;
  const attrs = args.attrs as unknown as AdamWUpdateAttrs;
  const inputs = [param, grad, m, v, ...(vmax ? [vmax] : [])] as Info[];
  const shape = (param as Info).shape;
  const shapes = inputs.length === 5 ? [shape, shape, shape, shape] : [shape, shape, shape];
  return runOnFloat32(args.backend, inputs, shapes, (ins, outs) =>
    adamWUpdate(
      attrs,
      ins[0] as Float32Array,
      ins[1] as Float32Array,
      ins[2] as Float32Array,
      ins[3] as Float32Array,
      ins[4] ?? null,
      outs[0] as Float32Array,
      outs[1] as Float32Array,
      outs[2] as Float32Array,
      outs[3] ?? null,
    ),
  );
}

function sgdKernel(args: KernelArgs): Info[] {
  const { param, grad, buf } = args.inputs as Record<string, Info>;
  const attrs = args.attrs as unknown as SgdUpdateAttrs & { withBuffer: boolean };
  const inputs = [param, grad, ...(buf ? [buf] : [])] as Info[];
  const shape = (param as Info).shape;
  return runOnFloat32(args.backend, inputs, attrs.withBuffer ? [shape, shape] : [shape], (ins, outs) =>
    sgdUpdate(
      attrs,
      ins[0] as Float32Array,
      ins[1] as Float32Array,
      ins[2] ?? null,
      outs[0] as Float32Array,
      outs[1] ?? null,
    ),
  );
}

/** Registers the fused optimizer-update kernels for cpu and wasm (once). They have no gradient. */
export function registerFusedOptimizerUpdates(): string[] {
  const added: string[] = [];
  for (const backendName of FUSED_BACKENDS) {
    for (const [kernelName, kernelFunc] of [
      [ADAMW_UPDATE_KERNEL, adamWKernel],
      [SGD_UPDATE_KERNEL, sgdKernel],
    ] as const) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
      added.push(`${backendName}/${kernelName}`);
    }
  }
  return added;
}

/** Whether the fused update kernel `kernelName` runs on the active backend (float32 parameters only). */
export function fusedUpdateAvailable(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/**
 * One fused AdamW step for `param`: new [param, m, v(, vmax)] tensors, from one pass over the data. Null where the
 * active backend has no fused kernel (the caller then runs the composed ops).
 */
export function fusedAdamWUpdate(
  tensors: { param: tf.Tensor; grad: tf.Tensor; m: tf.Tensor; v: tf.Tensor; vmax?: tf.Tensor },
  attrs: AdamWUpdateAttrs,
): tf.Tensor[] | null {
  if (!fusedUpdateAvailable(ADAMW_UPDATE_KERNEL) || tensors.grad.dtype !== 'float32') return null;
  const inputs: tf.NamedTensorMap = { param: tensors.param, grad: tensors.grad, m: tensors.m, v: tensors.v };
  if (tensors.vmax) inputs.vmax = tensors.vmax;
  return tf.engine().runKernel(ADAMW_UPDATE_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/** One fused SGD step for `param`: new [param(, buffer)] tensors, or null without a fused kernel here. */
export function fusedSgdUpdate(
  tensors: { param: tf.Tensor; grad: tf.Tensor; buf?: tf.Tensor },
  attrs: SgdUpdateAttrs & { withBuffer: boolean },
): tf.Tensor[] | null {
  if (!fusedUpdateAvailable(SGD_UPDATE_KERNEL) || tensors.grad.dtype !== 'float32') return null;
  const inputs: tf.NamedTensorMap = { param: tensors.param, grad: tensors.grad };
  if (tensors.buf) inputs.buf = tensors.buf;
  const out = tf.engine().runKernel(SGD_UPDATE_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}
