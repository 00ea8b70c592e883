import { describeValue, invalid, tf } from '@distillery/tensor';
import { checkGradients } from './clip-grad-norm';
import type { Gradients, Optimizer, OptimizerState, SerializedTensor } from './types';

export function serialize(t: tf.Tensor): SerializedTensor {
  return { shape: t.shape.slice(), values: Array.from(t.dataSync()) };
}

/** `serialize` with an asynchronous read (`await tensor.data()`). */
export async function serializeAsync(t: tf.Tensor): Promise<SerializedTensor> {
  return { shape: t.shape.slice(), values: Array.from(await t.data()) };
}

export function checkParams(params: readonly tf.Variable[]): tf.Variable[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw invalid('EMPTY_INPUT', 'params', 'a non-empty array of tf.Variable', String(params));
  }
  const names = new Set<string>();
  params.forEach((p, i) => {
    if (!(p instanceof tf.Variable)) throw invalid('INVALID_ARGUMENT', `params[${i}]`, 'a tf.Variable', typeof p);
    if (p.dtype !== 'float32') throw invalid('INVALID_DTYPE', `params[${i}]`, 'float32', p.dtype);
    if (names.has(p.name)) throw invalid('INVALID_ARGUMENT', `params[${i}]`, 'unique variable names', p.name);
    names.add(p.name);
  });
  return params.slice();
}

/** Shared bookkeeping: slots (tf.Variables per parameter), step count, state export/import. */
export abstract class BaseOptimizer implements Optimizer {
  lr: number;
  readonly params: tf.Variable[];
  protected steps = 0;
  protected slots: Record<string, Map<string, tf.Variable>> = {};
  protected abstract readonly type: string;

  /** Parameters excluded from weight decay (by name). */
  protected readonly noDecay: Set<string>;

  constructor(params: readonly tf.Variable[], lr: number, noWeightDecay?: (param: tf.Variable) => boolean) {
    this.params = checkParams(params);
    this.lr = lr;
    if (noWeightDecay !== undefined && typeof noWeightDecay !== 'function') {
      throw invalid(
        'INVALID_ARGUMENT',
        'options.noWeightDecay',
        'a predicate (param) => boolean',
        typeof noWeightDecay,
      );
    }
    this.noDecay = new Set(this.params.filter((q) => noWeightDecay?.(q)).map((q) => q.name));
  }

  /** The weight decay of `param`: 0 for parameters excluded by `noWeightDecay`. */
  protected decayOf(param: tf.Variable, weightDecay: number): number {
    return this.noDecay.has(param.name) ? 0 : weightDecay;
  }

  get stepCount(): number {
    return this.steps;
  }

  protected abstract hyper(): Record<string, number | boolean | number[]>;
  protected abstract update(param: tf.Variable, grad: tf.Tensor, step: number): void;

  step(grads: Gradients): void {
    checkGradients(grads);
    // Everything is checked before the first update: a bad gradient leaves every parameter as it was.
    for (const p of this.params) {
      const g = grads[p.name];
      if (g !== undefined && !tf.util.arraysEqual(g.shape, p.shape)) {
        throw invalid('SHAPE_MISMATCH', `grads["${p.name}"]`, JSON.stringify(p.shape), JSON.stringify(g.shape));
      }
    }
    if (typeof this.lr !== 'number' || !Number.isFinite(this.lr) || this.lr < 0) {
      throw invalid('INVALID_ARGUMENT', 'optimizer.lr', 'a finite learning rate >= 0', describeValue(this.lr));
    }
    this.steps++;
    for (const p of this.params) {
      const g = grads[p.name];
      if (g === undefined) continue;
      tf.tidy(() => this.update(p, g, this.steps));
    }
  }

  /** The slot variable `name` of `param`, created from `init()` the first time. */
  protected slot(name: string, param: tf.Variable, init: () => tf.Tensor): tf.Variable {
    let m = this.slots[name];
    if (!m) {
      m = new Map();
      this.slots[name] = m;
    }
    let v = m.get(param.name);
    if (!v) {
      // tf.variable shares the initial tensor's data: that tensor is disposed here, or (outside a tf.tidy, as in
      // setState) it would keep a full copy of the slot alive after the slot itself is disposed.
      const initial = tf.tidy(init);
      v = tf.variable(initial, false, `${param.name}/${this.type}/${name}/${nextSlotId()}`);
      initial.dispose();
      m.set(param.name, v);
    }
    return v;
  }

  /** Disposes and forgets the slot `name` of `param`. */
  protected dropSlot(name: string, param: tf.Variable): void {
    this.slots[name]?.get(param.name)?.dispose();
    this.slots[name]?.delete(param.name);
  }

  protected hasSlot(name: string, param: tf.Variable): boolean {
    return this.slots[name]?.has(param.name) ?? false;
  }

  getState(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [name, m] of Object.entries(this.slots)) {
      slots[name] = {};
      for (const [pname, v] of m) slots[name]![pname] = serialize(v);
    }
    return { type: this.type, step: this.steps, lr: this.lr, hyper: this.hyper(), slots };
  }

  /** `getState` with asynchronous reads of the slots (no synchronous read of a device tensor). */
  async getStateAsync(): Promise<OptimizerState> {
    const slots: OptimizerState['slots'] = {};
    for (const [name, m] of Object.entries(this.slots)) {
      slots[name] = {};
      for (const [pname, v] of m) slots[name]![pname] = await serializeAsync(v);
    }
    return { type: this.type, step: this.steps, lr: this.lr, hyper: this.hyper(), slots };
  }

  setState(state: OptimizerState): void {
    if (state?.type !== this.type) {
      throw invalid('FORMAT', 'state.type', `'${this.type}' optimizer state`, String(state?.type));
    }
    const byName = new Map(this.params.map((p) => [p.name, p]));
    // Validate everything before touching the current state.
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw invalid('FORMAT', 'state.step', 'a non-negative integer', describeValue(state.step));
    }
    if (typeof state.lr !== 'number' || !Number.isFinite(state.lr) || state.lr < 0) {
      throw invalid('FORMAT', 'state.lr', 'a finite learning rate >= 0', describeValue(state.lr));
    }
    if (state.slots === null || typeof state.slots !== 'object') {
      throw invalid('FORMAT', 'state.slots', 'slots keyed by slot and parameter name', describeValue(state.slots));
    }
    for (const [name, m] of Object.entries(state.slots)) {
      for (const [pname, t] of Object.entries(m)) {
        const p = byName.get(pname);
        if (!p) throw invalid('FORMAT', `state.slots.${name}`, 'slots of this optimizer’s parameters', pname);
        if (!tf.util.arraysEqual(p.shape, t.shape) || t.values.length !== p.size) {
          throw invalid(
            'SHAPE_MISMATCH',
            `state.slots.${name}.${pname}`,
            JSON.stringify(p.shape),
            JSON.stringify(t.shape),
          );
        }
      }
    }
    this.disposeSlots();
    for (const [name, m] of Object.entries(state.slots)) {
      for (const [pname, t] of Object.entries(m)) {
        const p = byName.get(pname)!;
        this.slot(name, p, () => tf.tensor(t.values, t.shape, 'float32'));
      }
    }
    this.steps = state.step;
    this.lr = state.lr;
  }

  private disposeSlots(): void {
    for (const m of Object.values(this.slots)) for (const v of m.values()) v.dispose();
    this.slots = {};
  }

  dispose(): void {
    this.disposeSlots();
  }
}

let slotCounter = 0;
function nextSlotId(): number {
  return slotCounter++;
}

/**
 * timm's rule for excluding parameters from weight decay (timm/optim `param_groups_weight_decay`, used by DeiT and
 * DeiT-LT through create_optimizer): 1-D parameters (biases, norm scales and shifts) and names ending in ".bias".
 */
export function timmNoWeightDecay(param: tf.Variable): boolean {
  if (!(param instanceof tf.Variable))
    throw invalid('INVALID_ARGUMENT', 'param', 'a tf.Variable', describeValue(param));
  return param.rank <= 1 || param.name.endsWith('.bias') || param.name.endsWith('/bias');
}
