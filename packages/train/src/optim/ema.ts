import { checkNumber, checkOptions, invalid, tf } from '@distillery/tensor';
import { checkParams, serialize, serializeAsync } from './base';
import type { SerializedTensor } from './types';

export interface EMAOptions {
  /** Decay of the average (default 0.9999, timm ModelEmaV2). */
  decay?: number;
}

/**
 * Exponential moving average of weights (timm `ModelEmaV2`, as DeiT/DeiT-LT use with decay 0.99996):
 *
 *     ema ← decay·ema + (1 − decay)·w
 *
 * Default decay 0.9999 (timm ModelEmaV2). `apply()` swaps the EMA weights into the model (for evaluation) and `restore()` swaps the live weights back.
 */
export class EMA {
  readonly decay: number;
  private readonly params: tf.Variable[];
  private readonly shadow: tf.Variable[];
  private backup: tf.Tensor[] | null = null;
  updates = 0;

  constructor(params: readonly tf.Variable[], options: EMAOptions = {}) {
    const { decay } = checkOptions<EMAOptions>(options, { decay: true });
    this.params = checkParams(params);
    this.decay = checkNumber(decay ?? 0.9999, 'options.decay', { min: 0, max: 1 });
    this.shadow = this.params.map((p) => {
      const copy = tf.clone(p);
      const shadow = tf.variable(copy, false);
      copy.dispose(); // the variable shares its data; the copy itself would never be freed
      return shadow;
    });
  }

  update(): void {
    const d = this.decay;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const s = this.shadow[i]!;
        s.assign(tf.add(tf.mul(s, d), tf.mul(p, 1 - d)));
      });
    });
    this.updates++;
  }

  /** The averaged weights (owned by the EMA; do not dispose). */
  get weights(): readonly tf.Variable[] {
    return this.shadow;
  }

  apply(): void {
    if (this.backup) throw invalid('INVALID_ARGUMENT', 'ema', 'restore() before apply() again', 'apply() twice');
    this.backup = this.params.map((p) => tf.clone(p));
    for (const [i, p] of this.params.entries()) p.assign(this.shadow[i]!);
  }

  restore(): void {
    if (!this.backup) return;
    for (const [i, p] of this.params.entries()) p.assign(this.backup[i]!);
    for (const t of this.backup) t.dispose();
    this.backup = null;
  }

  getState(): { decay: number; updates: number; weights: Record<string, SerializedTensor> } {
    const weights: Record<string, SerializedTensor> = {};
    this.params.forEach((p, i) => {
      weights[p.name] = serialize(this.shadow[i]!);
    });
    return { decay: this.decay, updates: this.updates, weights };
  }

  /** `getState` with asynchronous reads (no synchronous read of a device tensor). */
  async getStateAsync(): Promise<{ decay: number; updates: number; weights: Record<string, SerializedTensor> }> {
    const weights: Record<string, SerializedTensor> = {};
    for (const [i, p] of this.params.entries()) weights[p.name] = await serializeAsync(this.shadow[i]!);
    return { decay: this.decay, updates: this.updates, weights };
  }

  setState(state: { updates: number; weights: Record<string, SerializedTensor> }): void {
    this.params.forEach((p) => {
      const w = state?.weights?.[p.name];
      if (!w || !tf.util.arraysEqual(w.shape, p.shape)) {
        throw invalid('SHAPE_MISMATCH', `state.weights.${p.name}`, JSON.stringify(p.shape), JSON.stringify(w?.shape));
      }
    });
    this.params.forEach((p, i) => {
      const w = state.weights[p.name]!;
      tf.tidy(() => this.shadow[i]!.assign(tf.tensor(w.values, w.shape, 'float32')));
    });
    this.updates = state.updates;
  }

  dispose(): void {
    this.restore();
    for (const s of this.shadow) s.dispose();
  }
}
