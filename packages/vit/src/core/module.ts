import {
  checkEnum,
  checkOptions,
  DistilleryError,
  entryToFloat32,
  formatShape,
  invalid,
  parseSafetensors,
  readSafetensorsFile,
  type SafetensorsFile,
  type SafetensorsInput,
  serializeSafetensors,
  tf,
  writeSafetensorsFile,
} from '@distillery/tensor';

/**
 * How a parameter is laid out in tfjs versus PyTorch:
 * - `linear`: tfjs `[in, out]` (for `x · W`), PyTorch nn.Linear `[out, in]` → transposed.
 * - `conv2d`: tfjs HWIO, PyTorch OIHW → permuted.
 * - `depthwise`: tfjs [k, k, C, 1], PyTorch depthwise Conv2d [C, 1, k, k] → permuted.
 * - `plain`: the same shape and order on both sides.
 */
export type ParamLayout = 'linear' | 'conv2d' | 'depthwise' | 'plain';

interface ParamEntry {
  variable: tf.Variable;
  layout: ParamLayout;
  trainable: boolean;
}

/** One tensor of a PyTorch state dict: its PyTorch shape and float values (`int64` for BN counters). */
export interface StateDictEntry {
  shape: number[];
  data: Float32Array;
  dtype?: 'F32' | 'I64';
}
export type StateDict = Record<string, StateDictEntry>;

export interface LoadReport {
  /** Model parameters absent from the state dict (non-strict mode only; strict mode throws). */
  missing: string[];
  /** State-dict tensors the model does not have (non-strict mode only). */
  unexpected: string[];
  loaded: string[];
}

function torchShape(shape: readonly number[], layout: ParamLayout): number[] {
  if (layout === 'linear') return [shape[1]!, shape[0]!];
  if (layout === 'conv2d') return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  if (layout === 'depthwise') return [shape[2]!, shape[3]!, shape[0]!, shape[1]!];
  return [...shape];
}

/**
 * `data` (C order, `shape`) with its axes permuted: out axis k is input axis `perm[k]`. Plain typed-array loops:
 * the layout conversions of whole checkpoints (tens of millions of values) ran several times slower as tf.transpose
 * on the cpu backend.
 */
export function permuteAxes(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const out = new Float32Array(data.length);
  if (rank === 2 && perm[0] === 1) {
    const [r, c] = shape as [number, number];
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = data[i * c + j]!;
    return out;
  }
  if (rank !== 4) {
    out.set(data);
    return out;
  }
  const strides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const outShape = perm.map((p) => shape[p]!);
  const s0 = strides[perm[0]!]!;
  const s1 = strides[perm[1]!]!;
  const s2 = strides[perm[2]!]!;
  const s3 = strides[perm[3]!]!;
  const [n0, n1, n2, n3] = outShape as [number, number, number, number];
  let o = 0;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        const base = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < n3; d++) out[o++] = data[base + d * s3]!;
      }
    }
  }
  return out;
}

/** The axis permutation from tfjs layout to PyTorch layout (undefined: same order). */
function toTorchPerm(layout: ParamLayout): number[] | undefined {
  if (layout === 'linear') return [1, 0];
  if (layout === 'conv2d') return [3, 2, 0, 1];
  if (layout === 'depthwise') return [2, 3, 0, 1];
  return undefined;
}

/** The axis permutation from PyTorch layout to tfjs layout. */
function fromTorchPerm(layout: ParamLayout): number[] | undefined {
  if (layout === 'linear') return [1, 0];
  if (layout === 'conv2d') return [2, 3, 1, 0];
  if (layout === 'depthwise') return [2, 3, 0, 1];
  return undefined;
}

/** Values of a parameter (tfjs layout, read back from the variable) in PyTorch layout: a new array. */
function torchLayout(e: ParamEntry, values: Float32Array): Float32Array {
  const perm = toTorchPerm(e.layout);
  return perm ? permuteAxes(values, e.variable.shape, perm) : values.slice();
}

/**
 * The parameters of a model, under their PyTorch (timm) state-dict names, stored as tfjs variables in tfjs layout.
 * Models register every parameter and buffer here; `stateDict`/`loadStateDict` convert layouts, and
 * `saveSafetensors`/`loadSafetensors` move weights to and from PyTorch.
 */
export class ParamStore {
  private readonly entries = new Map<string, ParamEntry>();
  /** Integer counters PyTorch keeps as int64 buffers (BatchNorm `num_batches_tracked`). */
  readonly counters = new Map<string, number>();

  add(name: string, value: tf.Tensor, layout: ParamLayout = 'plain', trainable = true): tf.Variable {
    checkEnum(layout, 'layout', ['linear', 'conv2d', 'depthwise', 'plain']);
    if (this.entries.has(name)) {
      value.dispose();
      throw invalid('INVALID_ARGUMENT', 'name', 'a unique parameter name', `duplicate ${name}`);
    }
    const variable = tf.variable(value, trainable);
    value.dispose();
    this.entries.set(name, { variable, layout, trainable });
    return variable;
  }

  /** Fixed integer buffers PyTorch saves in its state dict (e.g. `relative_position_index`), exported as int64. */
  readonly constants = new Map<string, { shape: number[]; data: Float32Array }>();

  addCounter(name: string): void {
    this.counters.set(name, 0);
  }

  /** Registers a constant int64 buffer: written on export, shape-checked (values recomputed) on load. */
  addConstant(name: string, shape: number[], data: Float32Array): void {
    this.constants.set(name, { shape, data });
  }

  get(name: string): tf.Variable {
    const entry = this.entries.get(name);
    if (!entry) throw invalid('INVALID_ARGUMENT', 'name', 'a registered parameter', name);
    return entry.variable;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The variables an optimizer should update (BatchNorm running statistics excluded). */
  trainableVariables(): tf.Variable[] {
    return [...this.entries.values()].filter((e) => e.trainable).map((e) => e.variable);
  }

  /**
   * The state training changes besides the trainable variables: non-trainable variables (BatchNorm running
   * statistics) and the integer counters (live: restoring a checkpoint updates them). fit's `buffers` option.
   */
  buffers(): { variables: tf.Variable[]; counters: Map<string, number> } {
    const variables = [...this.entries.values()].filter((e) => !e.trainable).map((e) => e.variable);
    return { variables, counters: this.counters };
  }

  /** Named trainable variables, e.g. for `tf.variableGrads`-style code or weight-decay filters. */
  namedTrainableVariables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, e] of this.entries) if (e.trainable) out.set(name, e.variable);
    return out;
  }

  numParameters(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.trainable) n += e.variable.size;
    return n;
  }

  /** PyTorch shape of every entry (parameters, buffers and counters). */
  torchShapes(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [name, e] of this.entries) out.set(name, torchShape(e.variable.shape, e.layout));
    for (const name of this.counters.keys()) out.set(name, []);
    for (const [name, c] of this.constants) out.set(name, [...c.shape]);
    return out;
  }

  /** Every parameter and buffer in PyTorch layout, under PyTorch names (read back synchronously: dataSync). */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, e] of this.entries) {
      const data = torchLayout(e, e.variable.dataSync() as Float32Array);
      out[name] = { shape: torchShape(e.variable.shape, e.layout), data };
    }
    return this.addIntegerBuffers(out);
  }

  /** `stateDict` with asynchronous reads (`await tensor.data()`): no synchronous read of a device tensor. */
  async stateDictAsync(): Promise<StateDict> {
    const out: StateDict = {};
    for (const [name, e] of this.entries) {
      const data = torchLayout(e, (await e.variable.data()) as Float32Array);
      out[name] = { shape: torchShape(e.variable.shape, e.layout), data };
    }
    return this.addIntegerBuffers(out);
  }

  private addIntegerBuffers(out: StateDict): StateDict {
    for (const [name, count] of this.counters) {
      out[name] = { shape: [], data: new Float32Array([count]), dtype: 'I64' };
    }
    for (const [name, c] of this.constants) {
      out[name] = { shape: [...c.shape], data: c.data.slice(), dtype: 'I64' };
    }
    return out;
  }

  /**
   * Loads PyTorch-layout tensors. Mis-shaped tensors always throw; missing or unexpected names throw unless
   * `strict: false`. The error lists every offending name with both shapes.
   */
  loadStateDict(state: StateDict, options: { strict?: boolean } = {}): LoadReport {
    const strict = checkOptions<{ strict?: boolean }>(options, { strict: true }).strict ?? true;
    if (state === null || typeof state !== 'object' || Array.isArray(state) || ArrayBuffer.isView(state)) {
      throw invalid('INVALID_ARGUMENT', 'state', 'a state dict { name: { shape, data } }', String(state));
    }
    const expected = this.torchShapes();
    // A missing BatchNorm `num_batches_tracked` is not an error (PyTorch's BatchNorm `_load_from_state_dict` fills
    // it in for checkpoints saved without it); the counter keeps its value.
    const missing = [...expected.keys()].filter((n) => !(n in state) && !this.counters.has(n));
    const unexpected = Object.keys(state).filter((n) => !expected.has(n));
    const mismatched: string[] = [];
    for (const [name, shape] of expected) {
      const given = state[name];
      if (!given) continue;
      const ok = given.shape.length === shape.length && given.shape.every((d, i) => d === shape[i]);
      if (!ok) mismatched.push(`${name}: model ${formatShape(shape)}, checkpoint ${formatShape(given.shape)}`);
      else if (given.data.length !== shape.reduce((a, d) => a * d, 1)) {
        mismatched.push(`${name}: ${given.data.length} values for shape ${formatShape(shape)}`);
      }
    }
    const problems = [...mismatched];
    if (strict) {
      for (const name of missing) problems.push(`${name}: model ${formatShape(expected.get(name)!)}, missing`);
      for (const name of unexpected)
        problems.push(`${name}: unexpected, checkpoint ${formatShape(state[name]!.shape)}`);
    }
    if (problems.length > 0) {
      throw new DistilleryError(
        'SHAPE_MISMATCH',
        `state: ${problems.length} tensor(s) do not fit the model${strict ? '' : ' (non-strict)'}:\n  ${problems.join('\n  ')}`,
        { argument: 'state', expected: 'the model parameters', actual: problems.join('; ') },
      );
    }
    const loaded: string[] = [];
    for (const [name, e] of this.entries) {
      const given = state[name];
      if (!given) continue;
      const perm = fromTorchPerm(e.layout);
      const values = perm ? permuteAxes(given.data, given.shape, perm) : Float32Array.from(given.data);
      tf.tidy(() => e.variable.assign(tf.tensor(values, e.variable.shape, 'float32')));
      loaded.push(name);
    }
    for (const name of this.counters.keys()) {
      const given = state[name];
      if (given) {
        this.counters.set(name, given.data[0] ?? 0);
        loaded.push(name);
      }
    }
    for (const name of this.constants.keys()) if (state[name]) loaded.push(name);
    return { missing, unexpected, loaded };
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}

/** Base class of every model here: a parameter store plus safetensors import and export under PyTorch names. */
export abstract class Module {
  readonly params = new ParamStore();

  trainableVariables(): tf.Variable[] {
    return this.params.trainableVariables();
  }

  /** BatchNorm running statistics and counters: pass to fit's `buffers` so checkpoints save and restore them. */
  buffers(): { variables: tf.Variable[]; counters: Map<string, number> } {
    return this.params.buffers();
  }

  numParameters(): number {
    return this.params.numParameters();
  }

  stateDict(): StateDict {
    return this.params.stateDict();
  }

  /** `stateDict` read asynchronously: no synchronous read of a device tensor (WebGPU in browsers). */
  stateDictAsync(): Promise<StateDict> {
    return this.params.stateDictAsync();
  }

  loadStateDict(state: StateDict, options: { strict?: boolean } = {}): LoadReport {
    return this.params.loadStateDict(state, options);
  }

  /**
   * The weights as safetensors bytes (PyTorch names and layouts): works in browsers. Reads synchronously; on WebGPU
   * in browsers use `toSafetensorsAsync`.
   */
  toSafetensors(metadata: Record<string, string> = {}): Uint8Array {
    return serializeSafetensors(stateDictToSafetensors(this.stateDict()), metadata);
  }

  /** `toSafetensors` with asynchronous reads (`await tensor.data()`): no synchronous read of a device tensor. */
  async toSafetensorsAsync(metadata: Record<string, string> = {}): Promise<Uint8Array> {
    return serializeSafetensors(stateDictToSafetensors(await this.stateDictAsync()), metadata);
  }

  /** Loads weights from safetensors bytes (e.g. a fetched ArrayBuffer). */
  loadSafetensorsBuffer(buffer: ArrayBuffer | Uint8Array, options: { strict?: boolean } = {}): LoadReport {
    return this.loadStateDict(safetensorsToStateDict(parseSafetensors(buffer)), options);
  }

  /** Node: writes the weights to `path` (temporary file + rename). */
  async saveSafetensors(path: string, metadata: Record<string, string> = {}): Promise<void> {
    await writeSafetensorsFile(path, stateDictToSafetensors(await this.stateDictAsync()), metadata);
  }

  /**
   * Loads weights from a safetensors file path (Node; e.g. one exported from timm with
   * `safetensors.torch.save_file`) or from its bytes (a Uint8Array or ArrayBuffer, e.g. a fetched response; the
   * same as `loadSafetensorsBuffer`). Anything else is a one-line DistilleryError naming `source`.
   */
  async loadSafetensors(
    source: string | Uint8Array | ArrayBuffer,
    options: { strict?: boolean } = {},
  ): Promise<LoadReport> {
    if (source instanceof Uint8Array || source instanceof ArrayBuffer)
      return this.loadSafetensorsBuffer(source, options);
    if (typeof source !== 'string') {
      throw invalid(
        'INVALID_ARGUMENT',
        'source',
        'a safetensors file path (string) or its bytes (Uint8Array or ArrayBuffer)',
        describeSource(source),
      );
    }
    return this.loadStateDict(safetensorsToStateDict(await readSafetensorsFile(source)), options);
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** A short description of a value for messages (never its contents). */
function describeSource(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value;
}

export function stateDictToSafetensors(state: StateDict): Record<string, SafetensorsInput> {
  const out: Record<string, SafetensorsInput> = {};
  for (const [name, entry] of Object.entries(state)) {
    out[name] =
      entry.dtype === 'I64'
        ? { dtype: 'I64', shape: entry.shape, data: BigInt64Array.from(entry.data, (v) => BigInt(Math.round(v))) }
        : { dtype: 'F32', shape: entry.shape, data: entry.data };
  }
  return out;
}

export function safetensorsToStateDict(file: SafetensorsFile): StateDict {
  const out: StateDict = {};
  for (const [name, entry] of file.tensors) {
    out[name] = { shape: entry.shape, data: entryToFloat32(entry), dtype: entry.dtype === 'I64' ? 'I64' : 'F32' };
  }
  return out;
}
