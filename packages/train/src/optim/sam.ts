import { checkNumber, invalid } from '@distillery/tensor';
import * as tf from '@tensorflow/tfjs-core';
import { globalNormTensor } from './clip-grad-norm';
import type { Gradients, Optimizer } from './types';

export interface SAMOptions {
  /** Neighbourhood radius ρ (default 0.05). */
  rho?: number;
  /** Adaptive SAM (Kwon et al. 2021): ε̂ = ρ·w²·g/‖w·g‖ (default false). */
  adaptive?: boolean;
  /** Optional transform of both gradient sets before use, e.g. clipping (applied to g_s before the base step). */
  clip?: (grads: Gradients) => Gradients;
}

/**
 * Sharpness-aware minimisation (Foret et al., arXiv 2010.01412; as davda54/sam `SAM.first_step/second_step`):
 *
 *     g   = ∇L(w);   ε̂ = ρ·g / (‖g‖₂ + 1e-12)   (‖·‖ over all parameters jointly)
 *     g_s = ∇L(w + ε̂)                          second forward/backward on the same batch
 *     w  ← base_step(w, g_s)                    after restoring w
 *
 * Two gradient evaluations per step. The base optimizer's learning rate, state and checkpoints are its own.
 */
export class SAM {
  readonly base: Optimizer;
  readonly rho: number;
  readonly adaptive: boolean;
  private readonly clip?: (grads: Gradients) => Gradients;

  constructor(base: Optimizer, options: SAMOptions = {}) {
    if (!base || typeof base.step !== 'function') {
      throw invalid('INVALID_ARGUMENT', 'base', 'an Optimizer (SGD, AdamW, …)', String(base));
    }
    this.base = base;
    this.rho = checkNumber(options.rho ?? 0.05, 'options.rho', { min: 0 });
    this.adaptive = options.adaptive ?? false;
    this.clip = options.clip;
  }

  /**
   * One SAM step on `loss` (a closure computing the scalar loss from the current parameters); returns L(w), read
   * back synchronously. `stepAsync` is the same step with an asynchronous read (what WebGPU in browsers needs).
   */
  step(loss: () => tf.Scalar): number {
    const value = this.stepOnDevice(loss);
    const out = value.dataSync()[0]!;
    value.dispose();
    return out;
  }

  /** `step` with L(w) read by `await tensor.data()`: no synchronous read of a device tensor. */
  async stepAsync(loss: () => tf.Scalar): Promise<number> {
    const value = this.stepOnDevice(loss);
    try {
      return (await value.data())[0]!;
    } finally {
      value.dispose();
    }
  }

  /**
   * One SAM step with everything on the device (ε̂'s scale ρ/(‖g‖ + 1e-12) is a tensor op); returns L(w) as a scalar
   * tensor that the caller disposes.
   */
  stepOnDevice(loss: () => tf.Scalar): tf.Scalar {
    const params = this.base.params as tf.Variable[];
    const first = tf.variableGrads(loss, params);
    const old = params.map((p) => tf.clone(p));
    try {
      const scaled: Gradients = {};
      for (const p of params) {
        const g = first.grads[p.name];
        if (g) scaled[p.name] = this.adaptive ? tf.tidy(() => tf.mul(tf.abs(p), g)) : g;
      }
      const norm = globalNormTensor(scaled);
      if (this.adaptive) for (const k of Object.keys(scaled)) scaled[k]!.dispose();
      const scale = tf.tidy(() => tf.div(this.rho, tf.add(norm, 1e-12)));
      norm.dispose();
      try {
        for (const p of params) {
          const g = first.grads[p.name];
          if (!g) continue;
          tf.tidy(() => {
            const e = this.adaptive ? tf.mul(tf.mul(tf.square(p), g), scale) : tf.mul(g, scale);
            p.assign(tf.add(p, e));
          });
        }
      } finally {
        scale.dispose();
      }
      const second = tf.variableGrads(loss, params);
      second.value.dispose();
      for (const [i, p] of params.entries()) p.assign(old[i]!);
      const grads = this.clip ? this.clip(second.grads) : second.grads;
      this.base.step(grads);
      if (grads !== second.grads) for (const g of Object.values(grads)) g.dispose();
      for (const g of Object.values(second.grads)) g.dispose();
    } catch (error) {
      first.value.dispose();
      throw error;
    } finally {
      for (const t of old) t.dispose();
      for (const g of Object.values(first.grads)) g.dispose();
    }
    return first.value;
  }
}
