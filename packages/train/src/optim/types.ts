import type { tf } from '@distillery/tensor';

/** A serialisable tensor: shape + float values (checkpoints store it as JSON or in the binary weights file). */
export interface SerializedTensor {
  shape: number[];
  values: number[];
}

/** Optimizer state for checkpoints: hyper-parameters, step count and per-parameter slots, keyed by parameter name. */
export interface OptimizerState {
  type: string;
  step: number;
  lr: number;
  hyper: Record<string, number | boolean | number[]>;
  /** slots[slotName][paramName] */
  slots: Record<string, Record<string, SerializedTensor>>;
}

/** Gradients keyed by variable name (what tf.variableGrads returns). */
export type Gradients = Record<string, tf.Tensor>;

/** Common surface of the optimizers: PyTorch-style `step(grads)` over a fixed list of tf.Variables. */
export interface Optimizer {
  /** Learning rate used by the next step (schedules write it). */
  lr: number;
  readonly params: readonly tf.Variable[];
  /** Number of steps taken. */
  readonly stepCount: number;
  /** Applies one update from `grads` (keyed by variable name; missing names are skipped, as params without .grad). */
  step(grads: Gradients): void;
  getState(): OptimizerState;
  /** `getState` read asynchronously (optional; checkpoints use it when present, `getState` otherwise). */
  getStateAsync?(): Promise<OptimizerState>;
  setState(state: OptimizerState): void;
  dispose(): void;
}
