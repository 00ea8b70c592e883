import { tf } from '@distillery/tensor';
import { type RowArena, rowArena } from './row-exp';
import {
  type Attrs,
  clkdLogitRows,
  crossEntropyRows,
  dkdRows,
  kdRows,
  mdcsExpertRows,
  nkdRows,
  softTargetRows,
  uskdStudentRows,
  type Views,
} from './softmax-rows';

/**
 * Fused softmax losses as tfjs kernels of their own (cpu and wasm): `Distillery<Loss>` computes the scalar loss from
 * the logits in one pass over the rows, `Distillery<Loss>Grad` gives d loss / d logits, and a registered gradient
 * connects them. When the tape is recording (attr `withGrad`), the forward kernel also computes d loss / d logits from
 * the exps it has in hand and leaves it, as a plain Float32Array, on the node's own attrs object (`savedGrad`), which
 * tfjs hands unchanged to the registered gradient; the backward kernel then only scales it by dy. So there is no second
 * pass of exps, no saved copy of any input, and no second output (whose unused dy tfjs would fill with an [N, C] zero
 * tensor: 0.7 ms on wasm at [256, 1000], a quarter of a fused CE's forward + backward). The array lives as long as the
 * tape node, like any saved tensor, and is garbage-collected with it. They are registered lazily, for the active backend, the first time a loss takes the fused
 * path (nothing is registered or changed at import). On other backends (webgpu, tensorflow, webgl) the losses keep
 * their composed form. `DISTILLERY_FUSED_LOSSES=off` (read at each call) keeps the composed form everywhere.
 *
 * Every kernel has one differentiable input (the logits); its other inputs (teacher logits, labels, soft targets)
 * get a zero gradient here, and the losses pass the teacher through `stopGradient` as before, so the tape never
 * reaches it.
 */

type Rows = (
  arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
) => number;

interface FusedKernel {
  /** Input names, in order; the first is the logits (the one differentiable input). */
  inputs: readonly string[];
  rows: Rows;
}

export const FUSED_KERNELS = {
  DistilleryCrossEntropy: { inputs: ['logits', 'labels'], rows: crossEntropyRows },
  DistillerySoftTargetCrossEntropy: { inputs: ['logits', 'targets'], rows: softTargetRows },
  DistilleryKdLoss: { inputs: ['student', 'teacher'], rows: kdRows },
  DistilleryDkdLoss: { inputs: ['student', 'teacher', 'labels'], rows: dkdRows },
  DistilleryNkdLoss: { inputs: ['student', 'teacher', 'labels'], rows: nkdRows },
  DistilleryMdcsExpertLoss: { inputs: ['logits', 'labels'], rows: mdcsExpertRows },
  DistilleryClkdLogitLoss: { inputs: ['student', 'teacher'], rows: clkdLogitRows },
  DistilleryUskdStudentLoss: { inputs: ['student', 'weak', 'columns', 'values'], rows: uskdStudentRows },
} as const satisfies Record<string, FusedKernel>;

export type FusedKernelName = keyof typeof FUSED_KERNELS;

export const FUSED_BACKENDS: readonly string[] = ['cpu', 'wasm'];

type Info = { dataId: object; shape: number[]; dtype: tf.DataType };
type Backend = {
  readSync(dataId: object): tf.TypedArray;
  write(values: tf.TypedArray, shape: number[], dtype: tf.DataType): object;
  disposeData(dataId: object, force?: boolean): boolean;
  /** tfjs-wasm: allocate an output on its heap, and view a tensor's heap data (no copy). */
  makeOutput?: (shape: number[], dtype: 'float32') => Info;
  typedArrayFromHeap?: (x: Info) => tf.TypedArray;
};

/**
 * Runs `fill` on a new float32 output of `shape` and returns it. On tfjs-wasm the output is allocated on its heap
 * first (an allocation may grow the heap and detach earlier views), then the inputs are viewed in place (as
 * @distillery/tensor's SIMD matmul does); on cpu the inputs are its own arrays and the output is written after.
 */
function withOutput(
  backend: Backend,
  inputs: Record<string, Info>,
  shape: number[],
  fill: (views: Views, out: Float32Array) => void,
): Info {
  const size = shape.reduce((p, d) => p * d, 1);
  const heap = typeof backend.makeOutput === 'function' && typeof backend.typedArrayFromHeap === 'function';
  const read = (x: Info) =>
    (heap ? backend.typedArrayFromHeap?.(x) : backend.readSync(x.dataId)) as Float32Array | Int32Array;
  if (heap) {
    const out = backend.makeOutput?.(shape, 'float32') as Info;
    try {
      const views: Views = {};
      for (const [name, info] of Object.entries(inputs)) views[name] = read(info);
      fill(views, backend.typedArrayFromHeap?.(out) as Float32Array);
    } catch (error) {
      backend.disposeData(out.dataId);
      throw error;
    }
    return out;
  }
  const values = new Float32Array(size);
  const views: Views = {};
  for (const [name, info] of Object.entries(inputs)) views[name] = read(info);
  fill(views, values);
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

/** The attrs the forward kernel fills while the tape records (read by the gradient). */
interface SavedGrad {
  savedGrad?: Float32Array;
  gradShape?: [number, number];
  /** Shape and dtype of every input, for the zero gradients of the constant ones. */
  inputInfo?: [number[], tf.DataType][];
}

function forwardKernel(def: FusedKernel): tf.KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, Info>; backend: Backend; attrs: Attrs }) => {
    const shape = (inputs[def.inputs[0] as string] as Info).shape as [number, number];
    const grad = attrs.withGrad ? new Float32Array(shape[0] * shape[1]) : null;
    const out = withOutput(backend, inputs, [], (views, value) => {
      value[0] = def.rows(rowArena(), views, shape[0], shape[1], attrs, grad, 1);
    });
    if (grad) {
      const inputInfo = def.inputs.map((name) => {
        const info = inputs[name] as Info;
        return [info.shape.slice(), info.dtype];
      });
      Object.assign(attrs as SavedGrad, { savedGrad: grad, gradShape: shape, inputInfo });
    }
    return out;
  }) as unknown as tf.KernelFunc;
}

/** d loss / d logits = dy · (the gradient the forward kernel computed). */
function backwardKernel(): tf.KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, Info>; backend: Backend; attrs: SavedGrad }) => {
    const { dy } = inputs as { dy: Info };
    const g = attrs.savedGrad as Float32Array;
    const dyValue = (backend.readSync(dy.dataId) as Float32Array)[0] as number;
    return withOutput(backend, {}, attrs.gradShape as number[], (_, out) => {
      if (dyValue === 1) out.set(g);
      else for (let i = 0; i < g.length; i++) out[i] = (g[i] as number) * dyValue;
    });
  }) as unknown as tf.KernelFunc;
}

const gradientsRegistered = new Set<string>();

/** Registers the fused kernels for `backendName` (and their gradients, once), unless already there. */
export function registerFusedLossKernels(backendName: string): void {
  for (const [name, def] of Object.entries(FUSED_KERNELS) as [string, FusedKernel][]) {
    if (!tf.getKernel(name, backendName)) {
      tf.registerKernel({ kernelName: name, backendName, kernelFunc: forwardKernel(def) });
    }
    if (!tf.getKernel(`${name}Grad`, backendName)) {
      tf.registerKernel({ kernelName: `${name}Grad`, backendName, kernelFunc: backwardKernel() });
    }
    if (gradientsRegistered.has(name) || tf.getGradient(name)) continue;
    gradientsRegistered.add(name);
    tf.registerGradient({
      kernelName: name,
      gradFunc: (dy, _saved, attrs) => {
        const { savedGrad, gradShape, inputInfo } = attrs as SavedGrad;
        if (!savedGrad || !gradShape || !inputInfo) {
          throw new Error(`@distillery/losses: ${name} ran without its gradient (withGrad) on a recording tape`);
        }
        const grads: Record<string, () => tf.Tensor> = {};
        def.inputs.forEach((input, i) => {
          grads[input] =
            i === 0
              ? () =>
                  tf.engine().runKernel(`${name}Grad`, { dy: dy as tf.Tensor }, {
                    savedGrad,
                    gradShape,
                  } as unknown as tf.NamedAttrMap) as tf.Tensor
              : () => tf.zeros(...(inputInfo[i] as [number[], tf.DataType]));
        });
        return grads;
      },
    });
  }
}

let disabled = false;
/** Test hook: force the composed path (false) or allow the fused one again (true). */
export function setFusedLosses(enabled: boolean): void {
  disabled = !enabled;
}

/** Whether the losses take the fused kernels now: cpu or wasm active, not turned off. */
export function fusedLossesActive(): boolean {
  if (disabled) return false;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.DISTILLERY_FUSED_LOSSES === 'off') return false;
  return FUSED_BACKENDS.includes(tf.getBackend());
}

/**
 * Runs a fused loss kernel (registering the kernels for the active backend first), with a fresh attrs object per call
 * (the forward kernel leaves the gradient on it while the tape records).
 */
export function runFused(
  name: FusedKernelName,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, number | number[]>,
): tf.Scalar {
  registerFusedLossKernels(tf.getBackend());
  const { state } = tf.engine();
  const withGrad = state.gradientDepth > 0 && state.kernelDepth === 0 ? 1 : 0;
  return tf
    .engine()
    .runKernel(name, inputs as tf.NamedTensorMap, { ...attrs, withGrad } as tf.NamedAttrMap) as tf.Scalar;
}
