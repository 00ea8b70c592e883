import { checkNumber, checkOptions, fusedAdamWUpdate, invalid, tf } from '@distillery/tensor';
import { BaseOptimizer } from './base';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Parameters to exclude from weight decay, e.g. `timmNoWeightDecay` (biases and norm parameters). */
  noWeightDecay?: (param: tf.Variable) => boolean;
  amsgrad?: boolean;
}

/**
 * AdamW with PyTorch semantics (torch.optim.AdamW, 1.13; Loshchilov & Hutter, arXiv 1711.05101):
 *
 *     w ← w·(1 − lr·λ)                          decoupled weight decay, before the moment update
 *     m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²   (amsgrad: v̂ = max(v̂, v), used below in place of v)
 *     w ← w − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)        ε added after the bias correction
 *
 * Defaults as torch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2, amsgrad false.
 */
export class AdamW extends BaseOptimizer {
  protected readonly type = 'adamw';
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;

  constructor(params: readonly tf.Variable[], options: AdamWOptions = {}) {
    const o = checkOptions<AdamWOptions>(options, {
      lr: true,
      betas: true,
      eps: true,
      weightDecay: true,
      noWeightDecay: true,
      amsgrad: [true, false],
    });
    super(params, checkNumber(o.lr ?? 1e-3, 'options.lr', { min: 0 }), o.noWeightDecay);
    const betas = o.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw invalid('INVALID_ARGUMENT', 'options.betas', '[β1, β2]', String(betas));
    }
    this.beta1 = checkNumber(betas[0], 'options.betas[0]', { min: 0, max: 1 });
    this.beta2 = checkNumber(betas[1], 'options.betas[1]', { min: 0, max: 1 });
    if (this.beta1 === 1) throw invalid('OUT_OF_RANGE', 'options.betas[0]', 'a number in [0, 1)', '1');
    if (this.beta2 === 1) throw invalid('OUT_OF_RANGE', 'options.betas[1]', 'a number in [0, 1)', '1');
    this.eps = checkNumber(o.eps ?? 1e-8, 'options.eps', { min: 0 });
    this.weightDecay = checkNumber(o.weightDecay ?? 1e-2, 'options.weightDecay', { min: 0 });
    this.amsgrad = o.amsgrad ?? false;
  }

  protected hyper() {
    return {
      betas: [this.beta1, this.beta2],
      eps: this.eps,
      weightDecay: this.weightDecay,
      amsgrad: this.amsgrad,
    };
  }

  protected update(p: tf.Variable, g: tf.Tensor, step: number): void {
    const lr = this.lr;
    const wd = this.decayOf(p, this.weightDecay);
    // cpu and wasm: one fused pass per parameter (the same float32 results as the ops below, bit for bit).
    if (this.fusedUpdate(p, g, step, wd)) return;
    if (wd !== 0) p.assign(tf.mul(p, 1 - lr * wd));
    const m = this.slot('expAvg', p, () => tf.zerosLike(p));
    const v = this.slot('expAvgSq', p, () => tf.zerosLike(p));
    m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
    v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
    const bc1 = 1 - this.beta1 ** step;
    const bc2 = 1 - this.beta2 ** step;
    let second: tf.Tensor = v;
    if (this.amsgrad) {
      const vmax = this.slot('maxExpAvgSq', p, () => tf.zerosLike(p));
      vmax.assign(tf.maximum(vmax, v));
      second = vmax;
    }
    const denom = tf.add(tf.div(tf.sqrt(second), Math.sqrt(bc2)), this.eps);
    p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
  }

  /** The whole update as one kernel (`fusedAdamWUpdate`); false where the active backend has none. */
  private fusedUpdate(p: tf.Variable, g: tf.Tensor, step: number, wd: number): boolean {
    const m = this.slot('expAvg', p, () => tf.zerosLike(p));
    const v = this.slot('expAvgSq', p, () => tf.zerosLike(p));
    const vmax = this.amsgrad ? this.slot('maxExpAvgSq', p, () => tf.zerosLike(p)) : undefined;
    const out = fusedAdamWUpdate(
      { param: p, grad: g, m, v, ...(vmax ? { vmax } : {}) },
      {
        lr: this.lr,
        weightDecay: wd,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        bc1: 1 - this.beta1 ** step,
        bc2: 1 - this.beta2 ** step,
        amsgrad: this.amsgrad,
      },
    );
    if (!out) return false;
    p.assign(out[0] as tf.Tensor);
    m.assign(out[1] as tf.Tensor);
    v.assign(out[2] as tf.Tensor);
    if (vmax) vmax.assign(out[3] as tf.Tensor);
    return true;
  }
}
