import { checkNumber, checkOptions, invalid, type Rng, tf } from '@distillery/tensor';
import type { TrainingBuffers } from '../loop/checkpoint';
import { globalNormTensor } from './clip-grad-norm';
import type { Gradients, Optimizer } from './types';

export interface SAMOptions {
  /** Neighbourhood radius ρ (default 0.05). */
  rho?: number;
  /** Adaptive SAM (Kwon et al. 2021): ε̂ = ρ·w²·g/‖w·g‖ (default false). */
  adaptive?: boolean;
  /** Optional transform of both gradient sets before use, e.g. clipping (applied to g_s before the base step). */
  clip?: (grads: Gradients) => Gradients;
  /**
   * The generator the loss draws from (augmentation, mixup, dropout): rewound before the second pass, so both passes
   * see the same random draws (the same crops of the same batch), and left where the first pass left it.
   */
  rng?: Rng;
  /**
   * Model state the loss updates as a side effect (BatchNorm running statistics and counters, a @distillery/vit
   * model's `buffers()`): put back after the second pass, so it is updated once per step, at the unperturbed weights,
   * as davda54/sam's example does (`disable_running_stats` before the second pass). Note: val-iisc/Saddle-LongTail's
   * cifar_train_sam.py (@152ce31), which trains DeiT-LT's LDAM-DRW + SAM teachers, feeds both passes the same
   * augmented batch but leaves BatchNorm updating on both.
   */
  buffers?: TrainingBuffers;
}

/**
 * Sharpness-aware minimisation (Foret et al., arXiv 2010.01412; as davda54/sam `SAM.first_step/second_step`):
 *
 *     g   = ∇L(w);   ε̂ = ρ·g / (‖g‖₂ + 1e-12)   (‖·‖ over all parameters jointly)
 *     g_s = ∇L(w + ε̂)                          second forward/backward on the same batch (and, with `rng`, the
 *                                               same random draws; with `buffers`, no second BatchNorm update)
 *     w  ← base_step(w, g_s)                    after restoring w
 *
 * Two gradient evaluations per step. The base optimizer's learning rate, state and checkpoints are its own.
 */
export class SAM {
  readonly base: Optimizer;
  readonly rho: number;
  readonly adaptive: boolean;
  private readonly clip?: (grads: Gradients) => Gradients;
  private readonly rng?: Rng;
  private readonly buffers?: TrainingBuffers;

  constructor(base: Optimizer, options: SAMOptions = {}) {
    if (!base || typeof base.step !== 'function') {
      throw invalid('INVALID_ARGUMENT', 'base', 'an Optimizer (SGD, AdamW, …)', String(base));
    }
    const o = checkOptions<SAMOptions>(options, {
      rho: true,
      adaptive: [true, false],
      clip: true,
      rng: true,
      buffers: true,
    });
    this.base = base;
    this.rho = checkNumber(o.rho ?? 0.05, 'options.rho', { min: 0 });
    this.adaptive = o.adaptive ?? false;
    if (o.clip !== undefined && typeof o.clip !== 'function') {
      throw invalid('INVALID_ARGUMENT', 'options.clip', 'a function (grads) => grads', typeof o.clip);
    }
    this.clip = o.clip;
    if (o.rng !== undefined && (typeof o.rng?.state !== 'function' || typeof o.rng?.setState !== 'function')) {
      throw invalid('INVALID_ARGUMENT', 'options.rng', 'an Rng of @distillery/tensor', typeof o.rng);
    }
    this.rng = o.rng;
    if (o.buffers !== undefined && !Array.isArray(o.buffers?.variables)) {
      throw invalid('INVALID_ARGUMENT', 'options.buffers', '{ variables: tf.Variable[], counters? }', typeof o.buffers);
    }
    this.buffers = o.buffers;
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
    const { value, grads } = this.gradients(loss);
    try {
      const used = this.clip ? this.clip(grads) : grads;
      this.base.step(used);
      if (used !== grads) for (const g of Object.values(used)) g.dispose();
    } catch (error) {
      value.dispose();
      throw error;
    } finally {
      for (const g of Object.values(grads)) g.dispose();
    }
    return value;
  }

  /**
   * The two passes of a SAM step without the update: L(w) and the gradient g_s = ∇L(w + ε̂) (not clipped), with the
   * weights back at w. The caller disposes both and steps the base optimizer itself (the training loop reads the loss
   * first, so a non-finite loss stops training before any update). `argument` names the loss in errors.
   */
  gradients(loss: () => tf.Scalar, argument = 'loss'): { value: tf.Scalar; grads: Gradients } {
    const params = this.base.params as tf.Variable[];
    const rngBefore = this.rng?.state();
    const first = lossGradients(loss, params, argument);
    const rngAfter = this.rng?.state();
    const old = params.map((p) => tf.clone(p));
    const saved = this.buffers?.variables.map((b) => tf.clone(b));
    const counters = this.buffers?.counters ? new Map(this.buffers.counters) : undefined;
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
      if (rngBefore) this.rng!.setState(rngBefore);
      let second: { value: tf.Scalar; grads: Gradients };
      try {
        second = lossGradients(loss, params, argument);
      } finally {
        // Whatever happened, the weights go back to w, the buffers to their one update at w, the generator to where
        // the first pass left it.
        for (const [i, p] of params.entries()) p.assign(old[i]!);
        this.buffers?.variables.forEach((b, i) => {
          b.assign(saved![i]!);
        });
        if (counters && this.buffers?.counters) for (const [k, v] of counters) this.buffers.counters.set(k, v);
        if (rngAfter) this.rng!.setState(rngAfter);
      }
      second.value.dispose();
      return { value: first.value, grads: second.grads };
    } catch (error) {
      first.value.dispose();
      throw error;
    } finally {
      for (const t of old) t.dispose();
      for (const t of saved ?? []) t.dispose();
      for (const g of Object.values(first.grads)) g.dispose();
    }
  }
}

/** tf.variableGrads, with tfjs's "no connection" error said in our terms (naming `argument`). */
export function lossGradients(
  loss: () => tf.Scalar,
  params: tf.Variable[],
  argument: string,
): { value: tf.Scalar; grads: Gradients } {
  try {
    return tf.variableGrads(loss, params);
  } catch (error) {
    if (error instanceof Error && /Cannot find a connection between any variable/.test(error.message)) {
      throw invalid(
        'INVALID_ARGUMENT',
        argument,
        'a loss computed from the parameters (inside the loss function)',
        'a loss that does not depend on any of the parameters',
      );
    }
    if (error instanceof Error && /must (be|return) a scalar/.test(error.message)) {
      throw invalid('INVALID_RANK', argument, 'a scalar loss (reduce it, e.g. with tf.mean)', 'a non-scalar tensor');
    }
    throw error;
  }
}
