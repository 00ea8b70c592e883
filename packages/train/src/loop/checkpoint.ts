import {
  checkNumber,
  checkOptions,
  DistilleryError,
  describeValue,
  entryToFloat32,
  invalid,
  parseSafetensors,
  Rng,
  type RngState,
  type SafetensorsInput,
  serializeSafetensors,
  tf,
} from '@distillery/tensor';
import type { EMA } from '../optim/ema';
import type { Optimizer, OptimizerState } from '../optim/types';

/** What a checkpoint restores besides the weights. */
export interface CheckpointMeta {
  format: 'distillery-checkpoint';
  version: 1;
  /** The next epoch to run (epochs completed). */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  rng?: RngState;
  /** Parameter names and shapes, in order (the model signature). */
  params: { name: string; shape: number[] }[];
  optimizer?: Omit<OptimizerState, 'slots'> & { slotNames: string[] };
  ema?: { decay: number; updates: number };
  /** Buffer names and shapes, in order (non-trained model state such as BatchNorm running statistics). */
  buffers?: { name: string; shape: number[] }[];
  /** Integer counters of the model (BatchNorm `num_batches_tracked`). */
  counters?: Record<string, number>;
  /** Per-epoch records so far. */
  history?: unknown[];
  extra?: unknown;
}

/**
 * Model state that is not trained by the optimizer but changes during training: BatchNorm running statistics
 * (`variables`) and batch counters (`counters`, updated in place on restore). A @distillery/vit model gives it as
 * `model.buffers()`. Without it a resumed model would evaluate with the buffers of a fresh model.
 */
export interface TrainingBuffers {
  variables: readonly tf.Variable[];
  counters?: Map<string, number>;
}

export interface CheckpointParts {
  params: readonly tf.Variable[];
  optimizer?: Optimizer;
  ema?: EMA;
  buffers?: TrainingBuffers;
  rng?: Rng;
  epoch: number;
  step: number;
  history?: unknown[];
  extra?: unknown;
}

/** A float32 tensor as stored in a checkpoint. */
export interface StoredTensor {
  shape: number[];
  values: Float32Array;
}

const store = (shape: number[], values: ArrayLike<number>): StoredTensor => ({
  shape: shape.slice(),
  values: Float32Array.from(values),
});

/** The values a checkpoint stores, read from the live objects (synchronously or asynchronously). */
interface CheckpointValues {
  params: ArrayLike<number>[];
  buffers: ArrayLike<number>[];
  optimizer?: OptimizerState;
  ema?: { decay: number; updates: number; weights: Record<string, { shape: number[]; values: number[] }> };
}

/**
 * Serialises weights (by position, `param/<i>`), buffers (`buffer/<i>`), optimizer slots (`optim/<slot>/<i>`), EMA weights (`ema/<i>`), the RNG
 * state and the epoch into one safetensors buffer (metadata key `distillery`). Tensors are read back synchronously
 * (dataSync); `encodeCheckpointAsync` reads them with `await tensor.data()` (WebGPU in browsers).
 */
export function encodeCheckpoint(parts: CheckpointParts): Uint8Array {
  checkParts(parts);
  return encodeValues(parts, {
    params: parts.params.map((p) => p.dataSync()),
    buffers: parts.buffers?.variables.map((b) => b.dataSync()) ?? [],
    optimizer: parts.optimizer?.getState(),
    ema: parts.ema?.getState(),
  });
}

/** `encodeCheckpoint` with asynchronous reads: no synchronous read of a device tensor. */
export async function encodeCheckpointAsync(parts: CheckpointParts): Promise<Uint8Array> {
  checkParts(parts);
  const params: ArrayLike<number>[] = [];
  for (const p of parts.params) params.push(await p.data());
  const buffers: ArrayLike<number>[] = [];
  for (const b of parts.buffers?.variables ?? []) buffers.push(await b.data());
  const optimizer = parts.optimizer
    ? await (parts.optimizer.getStateAsync?.() ?? Promise.resolve(parts.optimizer.getState()))
    : undefined;
  const ema = parts.ema ? await parts.ema.getStateAsync() : undefined;
  return encodeValues(parts, { params, buffers, optimizer, ema });
}

/** The parts of a checkpoint: declared keys only, parameters as tf.Variables, epoch and step as counts. */
function checkParts(parts: CheckpointParts): void {
  if (parts === undefined)
    throw invalid('INVALID_ARGUMENT', 'parts', 'the checkpoint parts { params, epoch, step, … }', 'undefined');
  checkOptions<CheckpointParts>(
    parts,
    {
      params: true,
      optimizer: true,
      ema: true,
      buffers: true,
      rng: true,
      epoch: true,
      step: true,
      history: true,
      extra: true,
    },
    'parts',
  );
  checkVariables(parts.params, 'parts.params');
  checkNumber(parts.epoch, 'parts.epoch', { min: 0, integer: true });
  checkNumber(parts.step, 'parts.step', { min: 0, integer: true });
  if (parts.optimizer !== undefined && typeof parts.optimizer?.getState !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'parts.optimizer', 'an Optimizer', describeValue(parts.optimizer));
  }
  if (parts.ema !== undefined && typeof parts.ema?.getState !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'parts.ema', 'an EMA', describeValue(parts.ema));
  }
  if (parts.buffers !== undefined) checkVariables(parts.buffers?.variables, 'parts.buffers.variables', true);
  if (parts.rng !== undefined && typeof parts.rng?.state !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'parts.rng', 'an Rng', describeValue(parts.rng));
  }
  if (parts.history !== undefined && !Array.isArray(parts.history)) {
    throw invalid('INVALID_ARGUMENT', 'parts.history', 'an array of epoch records', describeValue(parts.history));
  }
}

function checkVariables(list: unknown, argument: string, allowEmpty = false): void {
  if (!Array.isArray(list) || (!allowEmpty && list.length === 0)) {
    throw invalid('INVALID_ARGUMENT', argument, 'an array of tf.Variable', describeValue(list));
  }
  list.forEach((v, i) => {
    if (!(v instanceof tf.Variable))
      throw invalid('INVALID_ARGUMENT', `${argument}[${i}]`, 'a tf.Variable', describeValue(v));
  });
}

function encodeValues(parts: CheckpointParts, values: CheckpointValues): Uint8Array {
  const tensors: Record<string, StoredTensor> = {};
  const index = new Map(parts.params.map((p, i) => [p.name, i]));
  parts.params.forEach((p, i) => {
    tensors[`param/${i}`] = store(p.shape, values.params[i]!);
  });
  parts.buffers?.variables.forEach((b, i) => {
    tensors[`buffer/${i}`] = store(b.shape, values.buffers[i]!);
  });
  let optimizer: CheckpointMeta['optimizer'];
  if (parts.optimizer && values.optimizer) {
    const { slots, ...rest } = values.optimizer;
    for (const [slot, byName] of Object.entries(slots)) {
      for (const [name, t] of Object.entries(byName)) {
        const i = index.get(name);
        if (i === undefined) continue;
        tensors[`optim/${slot}/${i}`] = store(t.shape, t.values);
      }
    }
    optimizer = { ...rest, slotNames: Object.keys(slots) };
  }
  let ema: CheckpointMeta['ema'];
  if (parts.ema && values.ema) {
    const s = values.ema;
    parts.params.forEach((p, i) => {
      const w = s.weights[p.name];
      if (w) tensors[`ema/${i}`] = store(w.shape, w.values);
    });
    ema = { decay: s.decay, updates: s.updates };
  }
  const meta: CheckpointMeta = {
    format: 'distillery-checkpoint',
    version: 1,
    epoch: parts.epoch,
    step: parts.step,
    rng: parts.rng?.state(),
    params: parts.params.map((p) => ({ name: p.name, shape: p.shape.slice() })),
    optimizer,
    ema,
    buffers: parts.buffers?.variables.map((b) => ({ name: b.name, shape: b.shape.slice() })),
    counters: parts.buffers?.counters ? Object.fromEntries(parts.buffers.counters) : undefined,
    history: parts.history,
    extra: parts.extra,
  };
  const entries: Record<string, SafetensorsInput> = {};
  for (const [name, t] of Object.entries(tensors)) entries[name] = { shape: t.shape, data: t.values };
  return serializeSafetensors(entries, { distillery: JSON.stringify(meta) });
}

export interface DecodedCheckpoint {
  meta: CheckpointMeta;
  tensors: Record<string, StoredTensor>;
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): DecodedCheckpoint {
  let file: ReturnType<typeof parseSafetensors>;
  try {
    file = parseSafetensors(bytes, source);
  } catch (error) {
    if (!(error instanceof DistilleryError) || error.argument === source) throw error;
    // A truncated or garbled file: name the checkpoint, keep what the parser saw.
    throw new DistilleryError('FORMAT', `${source}: ${error.message}`, {
      argument: source,
      expected: 'a distillery checkpoint (safetensors)',
      actual: error.message,
    });
  }
  const metadata = file.metadata;
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, entry] of file.tensors) {
    if (entry.dtype !== 'F32') throw invalid('FORMAT', source, `F32 checkpoint tensors`, `${entry.dtype} for ${name}`);
    tensors[name] = { shape: entry.shape, values: entryToFloat32(entry) };
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metadata.distillery ?? 'null');
  } catch {
    throw invalid('FORMAT', source, 'distillery checkpoint metadata', 'unreadable metadata');
  }
  if (meta?.format !== 'distillery-checkpoint') {
    throw invalid('FORMAT', source, 'a distillery checkpoint', 'safetensors without distillery metadata');
  }
  checkMeta(meta, tensors, source);
  return { meta, tensors };
}

/** Every header field of a decoded checkpoint, checked against its declared type (and the stored tensors). */
function checkMeta(meta: CheckpointMeta, tensors: Record<string, StoredTensor>, source: string): void {
  const bad = (field: string, expected: string, actual: unknown): never => {
    throw invalid('FORMAT', `${source} (header ${field})`, expected, describeValue(actual));
  };
  const isCount = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  const checkList = (field: string, list: unknown, kind: 'param' | 'buffer') => {
    if (!Array.isArray(list)) bad(field, 'an array of { name, shape }', list);
    (list as unknown[]).forEach((entry, i) => {
      const e = entry as { name?: unknown; shape?: unknown };
      if (!isRecord(e) || typeof e.name !== 'string') bad(`${field}[${i}].name`, 'a string', e?.name);
      if (!Array.isArray(e.shape) || !e.shape.every(isCount)) bad(`${field}[${i}].shape`, 'a shape', e.shape);
      const t = tensors[`${kind}/${i}`];
      if (!t || !tf.util.arraysEqual(t.shape, e.shape as number[])) {
        bad(
          `${field}[${i}]`,
          `a stored tensor ${kind}/${i} of shape [${(e.shape as number[]).join(', ')}]`,
          t ? `[${t.shape.join(', ')}]` : 'none',
        );
      }
    });
  };
  if (meta.version !== 1) bad('version', 'version 1 (this library writes and reads version 1)', meta.version);
  if (!isCount(meta.epoch)) bad('epoch', 'a non-negative integer', meta.epoch);
  if (!isCount(meta.step)) bad('step', 'a non-negative integer', meta.step);
  checkList('params', meta.params, 'param');
  if (meta.buffers !== undefined) checkList('buffers', meta.buffers, 'buffer');
  if (meta.rng !== undefined) {
    try {
      Rng.fromState(meta.rng);
    } catch {
      bad('rng', "an RngState { algorithm: 'xoshiro128**', s: [4 words] }", meta.rng);
    }
  }
  if (meta.optimizer !== undefined) {
    const opt = meta.optimizer as unknown;
    if (!isRecord(opt)) bad('optimizer', 'optimizer state', opt);
    const o = opt as Record<string, unknown>;
    if (typeof o.type !== 'string') bad('optimizer.type', 'a string', o.type);
    if (!isCount(o.step)) bad('optimizer.step', 'a non-negative integer', o.step);
    if (typeof o.lr !== 'number' || !Number.isFinite(o.lr) || o.lr < 0)
      bad('optimizer.lr', 'a finite number >= 0', o.lr);
    if (!isRecord(o.hyper)) bad('optimizer.hyper', 'an object', o.hyper);
    if (!Array.isArray(o.slotNames) || !o.slotNames.every((n) => typeof n === 'string')) {
      bad('optimizer.slotNames', 'an array of strings', o.slotNames);
    }
  }
  if (meta.ema !== undefined) {
    const e = meta.ema as unknown as Record<string, unknown>;
    if (!isRecord(e)) bad('ema', '{ decay, updates }', e);
    if (typeof e.decay !== 'number' || !(e.decay >= 0 && e.decay <= 1)) bad('ema.decay', 'a number in [0, 1]', e.decay);
    if (!isCount(e.updates)) bad('ema.updates', 'a non-negative integer', e.updates);
  }
  if (meta.counters !== undefined) {
    if (!isRecord(meta.counters)) bad('counters', 'an object of integer counters', meta.counters);
    for (const [k, v] of Object.entries(meta.counters))
      if (!isCount(v)) bad(`counters.${k}`, 'a non-negative integer', v);
  }
  if (meta.history !== undefined && !Array.isArray(meta.history))
    bad('history', 'an array of epoch records', meta.history);
}

/**
 * Restores a decoded checkpoint into live objects. Everything is validated first (parameter count and shapes: a
 * checkpoint of a different model throws SHAPE_MISMATCH naming the parameter) and nothing is changed on error.
 * Returns the restored RNG (if the checkpoint has one) and the metadata.
 */
export function restoreCheckpoint(
  checkpoint: DecodedCheckpoint,
  target: { params: readonly tf.Variable[]; optimizer?: Optimizer; ema?: EMA; buffers?: TrainingBuffers },
  source = 'checkpoint',
): { rng?: Rng; meta: CheckpointMeta } {
  if (!checkpoint || typeof checkpoint.meta !== 'object' || typeof checkpoint.tensors !== 'object') {
    throw invalid(
      'INVALID_ARGUMENT',
      'checkpoint',
      'a decoded checkpoint { meta, tensors }',
      describeValue(checkpoint),
    );
  }
  if (target === undefined)
    throw invalid('INVALID_ARGUMENT', 'target', '{ params, optimizer?, ema?, buffers? }', 'undefined');
  checkOptions<typeof target>(target, { params: true, optimizer: true, ema: true, buffers: true }, 'target');
  checkVariables(target.params, 'target.params');
  if (target.buffers !== undefined) checkVariables(target.buffers?.variables, 'target.buffers.variables', true);
  const { meta, tensors } = checkpoint;
  const { params } = target;
  if (meta.params.length !== params.length) {
    throw invalid('SHAPE_MISMATCH', `${source} (params)`, `${params.length} parameters`, String(meta.params.length));
  }
  /** Every saved `kind/i` tensor exists with the shape of variables[i]. */
  const checkShapes = (
    kind: 'param' | 'buffer',
    variables: readonly tf.Variable[],
    saved: readonly { name: string }[] | undefined,
  ) =>
    variables.forEach((v, i) => {
      const t = tensors[`${kind}/${i}`];
      if (!t || !tf.util.arraysEqual(t.shape, v.shape)) {
        throw invalid(
          'SHAPE_MISMATCH',
          `${source} (${kind} ${i} "${saved?.[i]?.name}")`,
          `shape [${v.shape.join(', ')}] for "${v.name}"`,
          t ? `[${t.shape.join(', ')}]` : 'missing',
        );
      }
    });
  checkShapes('param', params, meta.params);
  let optimizerState: OptimizerState | undefined;
  if (target.optimizer) {
    if (!meta.optimizer) throw invalid('FORMAT', `${source} (optimizer)`, 'optimizer state', 'none saved');
    const slots: OptimizerState['slots'] = {};
    for (const slot of meta.optimizer.slotNames) {
      slots[slot] = {};
      params.forEach((p, i) => {
        const t = tensors[`optim/${slot}/${i}`];
        if (t) slots[slot]![p.name] = { shape: t.shape, values: Array.from(t.values) };
      });
    }
    const { slotNames: _unused, ...rest } = meta.optimizer;
    optimizerState = { ...rest, slots };
    if (optimizerState.type !== (target.optimizer.getState().type as string)) {
      throw invalid(
        'FORMAT',
        `${source} (optimizer)`,
        `${target.optimizer.getState().type} state`,
        optimizerState.type,
      );
    }
  }
  if (target.ema && !meta.ema) throw invalid('FORMAT', `${source} (ema)`, 'EMA weights', 'none saved');
  const buffers = target.buffers?.variables ?? [];
  if (target.buffers && (meta.buffers?.length ?? 0) !== buffers.length) {
    throw invalid(
      'FORMAT',
      `${source} (buffers)`,
      `${buffers.length} model buffers (BatchNorm statistics)`,
      meta.buffers ? String(meta.buffers.length) : 'none saved',
    );
  }
  checkShapes('buffer', buffers, meta.buffers);
  // Apply.
  tf.tidy(() => {
    params.forEach((p, i) => {
      const t = tensors[`param/${i}`]!;
      p.assign(tf.tensor(t.values, t.shape, 'float32'));
    });
    buffers.forEach((b, i) => {
      const t = tensors[`buffer/${i}`]!;
      b.assign(tf.tensor(t.values, t.shape, 'float32'));
    });
  });
  const counters = target.buffers?.counters;
  if (counters && meta.counters) {
    for (const [name, value] of Object.entries(meta.counters)) if (counters.has(name)) counters.set(name, value);
  }
  if (target.optimizer && optimizerState) target.optimizer.setState(optimizerState);
  if (target.ema && meta.ema) {
    const weights: Record<string, { shape: number[]; values: number[] }> = {};
    params.forEach((p, i) => {
      const t = tensors[`ema/${i}`];
      if (t) weights[p.name] = { shape: t.shape, values: Array.from(t.values) };
    });
    target.ema.setState({ updates: meta.ema.updates, weights });
  }
  return { rng: meta.rng ? Rng.fromState(meta.rng) : undefined, meta };
}

async function fs() {
  return import('node:fs/promises');
}

/** Writes a checkpoint atomically (Node): a temporary file in the same folder, fsync, then rename over `path`. */
export async function saveCheckpoint(path: string, parts: CheckpointParts): Promise<void> {
  if (typeof path !== 'string' || path === '')
    throw invalid('INVALID_ARGUMENT', 'path', 'a file path', describeValue(path));
  const bytes = await encodeCheckpointAsync(parts);
  const { open, rename, mkdir, rm } = await fs();
  const { dirname } = await import('node:path');
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (error) {
    throw invalid('IO', path, 'a writable checkpoint path', (error as Error).message);
  }
  const now = Date.now();
  await removeStaleTemporaries(path, now);
  const tmp = `${path}.tmp-${process.pid}-${now}`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw invalid('IO', path, 'a writable checkpoint path', (error as Error).message);
  }
}

/**
 * Removes the temporary files `<path>.tmp-<pid>-<ms>` that a killed save left behind: those of processes that no
 * longer run, and this process's own older than `before` (ms). A live process's file is another save in progress and
 * is left alone. Returns the names removed. Called by every save and by fit before resuming.
 */
export async function removeStaleTemporaries(path: string, before = Date.now()): Promise<string[]> {
  const { readdir, rm } = await fs();
  const { dirname, basename, join } = await import('node:path');
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)-(\d+)$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    const stamp = Number(match[2]);
    const stale = pid === process.pid ? stamp < before : !processRuns(pid);
    if (!stale) continue;
    try {
      await rm(join(dirname(path), name), { force: true });
      removed.push(name);
    } catch {
      // Not ours to remove (permissions): leave it; the save itself does not depend on it.
    }
  }
  return removed;
}

/** Whether a process with this id runs (signal 0 checks without sending; EPERM: it runs as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads and decodes a checkpoint file (Node); a missing or corrupt file throws a DistilleryError naming the path. */
export async function loadCheckpoint(path: string): Promise<DecodedCheckpoint> {
  if (typeof path !== 'string' || path === '')
    throw invalid('INVALID_ARGUMENT', 'path', 'a file path', describeValue(path));
  const { readFile } = await fs();
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw invalid('IO', path, 'a readable checkpoint file', (error as Error).message);
  }
  try {
    return decodeCheckpoint(bytes, path);
  } catch (error) {
    if (!(error instanceof DistilleryError)) throw error;
    // A truncated or overwritten file: say what it is and how to get past it, not only what the parser saw.
    const detail = error.message.startsWith(`${path}: `) ? error.message.slice(path.length + 2) : error.message;
    throw new DistilleryError(
      'FORMAT',
      `${path}: not a readable distillery checkpoint (${detail}); delete it to retrain that model from the start`,
      { argument: path, expected: 'a distillery checkpoint (safetensors)', actual: detail },
    );
  }
}
