import { checkNumber, checkOptions, fusedSgdUpdate, invalid, tf } from '@distillery/tensor';
import { BaseOptimizer } from './base';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  /** Parameters to exclude from weight decay, e.g. `timmNoWeightDecay` (biases and norm parameters). */
  noWeightDecay?: (param: tf.Variable) => boolean;
  nesterov?: boolean;
}

/**
 * SGD with PyTorch semantics (torch.optim.SGD, 1.13):
 *
 *     d = g + λ·w
 *     b = d (first step) | μ·b + (1 − τ)·d
 *     d = d + μ·b (nesterov) | b
 *     w ← w − lr·d
 *
 * Defaults as torch: momentum 0, dampening 0, weight decay 0, nesterov false (which needs momentum > 0 and
 * dampening 0).
 */
export class SGD extends BaseOptimizer {
  protected readonly type = 'sgd';
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: readonly tf.Variable[], options: SGDOptions) {
    const o = checkOptions<SGDOptions>(options ?? ({} as SGDOptions), {
      lr: true,
      momentum: true,
      dampening: true,
      weightDecay: true,
      noWeightDecay: true,
      nesterov: [true, false],
    });
    super(params, checkNumber(o.lr, 'options.lr', { min: 0 }), o.noWeightDecay);
    this.momentum = checkNumber(o.momentum ?? 0, 'options.momentum', { min: 0 });
    this.dampening = checkNumber(o.dampening ?? 0, 'options.dampening', { min: 0, max: 1 });
    this.weightDecay = checkNumber(o.weightDecay ?? 0, 'options.weightDecay', { min: 0 });
    this.nesterov = o.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw invalid('INVALID_ARGUMENT', 'options.nesterov', 'momentum > 0 and dampening = 0', 'nesterov: true');
    }
  }

  protected hyper() {
    return {
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
    };
  }

  protected update(p: tf.Variable, g: tf.Tensor): void {
    const wd = this.decayOf(p, this.weightDecay);
    // cpu and wasm: one fused pass per parameter (the same float32 results as the ops below, bit for bit).
    if (this.fusedUpdate(p, g, wd)) return;
    let d: tf.Tensor = wd !== 0 ? tf.add(g, tf.mul(p, wd)) : g;
    if (this.momentum !== 0) {
      let buf: tf.Variable;
      if (!this.hasSlot('momentumBuffer', p)) {
        buf = this.slot('momentumBuffer', p, () => tf.clone(d));
      } else {
        buf = this.slot('momentumBuffer', p, () => tf.zerosLike(p));
        buf.assign(tf.add(tf.mul(buf, this.momentum), tf.mul(d, 1 - this.dampening)));
      }
      d = this.nesterov ? tf.add(d, tf.mul(buf, this.momentum)) : buf;
    }
    p.assign(tf.sub(p, tf.mul(d, this.lr)));
  }

  /** The whole update as one kernel (`fusedSgdUpdate`); false where the active backend has none. */
  private fusedUpdate(p: tf.Variable, g: tf.Tensor, wd: number): boolean {
    const withBuffer = this.momentum !== 0;
    const first = withBuffer && !this.hasSlot('momentumBuffer', p);
    const buf = withBuffer ? this.slot('momentumBuffer', p, () => tf.zerosLike(p)) : undefined;
    const out = fusedSgdUpdate(
      { param: p, grad: g, ...(buf ? { buf } : {}) },
      {
        lr: this.lr,
        weightDecay: wd,
        momentum: this.momentum,
        dampening: this.dampening,
        nesterov: this.nesterov,
        first,
        withBuffer,
      },
    );
    if (!out) {
      // No fused kernel here: undo the slot this call created, so that the composed path starts it from d.
      if (first && buf) this.dropSlot('momentumBuffer', p);
      return false;
    }
    p.assign(out[0] as tf.Tensor);
    if (buf) buf.assign(out[1] as tf.Tensor);
    return true;
  }
}
