// Real tfjs teachers for the distill()/loadTeacher tests: a tfjs-layers LayersModel and a tfjs-converter graph model,
// both on the tfjs-core instance of `tf` from @distillery/tensor.
import { createRng, type tf } from '@distillery/tensor';
import * as tfl from '@tensorflow/tfjs-layers';
import { C } from './distill-setup';

/** A LayersModel teacher on 8×8×1 images: flatten → dense 12 (relu) → dropout → dense C. */
export function layersTeacher(): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(tfl.layers.flatten({ inputShape: [8, 8, 1] }));
  model.add(
    tfl.layers.dense({ units: 12, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
  );
  // dropout is active only in training mode: equal logits to predict() show the teacher runs in inference mode
  model.add(tfl.layers.dropout({ rate: 0.5 }));
  model.add(tfl.layers.dense({ units: C, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  return model;
}

const f32 = (dims: number[]) => ({ dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } });
const T = { T: { type: 'DT_FLOAT' } };

/**
 * A graph-model (the format tensorflowjs_converter writes for a SavedModel): x [-1, 8, 8, 1] → Reshape [-1, 64] →
 * MatMul w1 → BiasAdd b1 → Relu → MatMul w2 → BiasAdd b2 = logits [-1, C]. Weights from a fixed seed. `dynamic`
 * adds 0 · (the number of positive logits, through the dynamic op Where): the same logits, but the model then runs
 * only through executeAsync (as detection models of tfjs-models do).
 */
export function graphModelArtifacts(seed = 5, dynamic = false): tf.io.ModelArtifacts {
  const rng = createRng(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal(0, 0.3));
  const weights: [string, number[], Float32Array | Int32Array][] = [
    ['shape', [2], Int32Array.from([-1, 64])],
    ['w1', [64, 10], values(640)],
    ['b1', [10], values(10)],
    ['w2', [10, C], values(10 * C)],
    ['b2', [C], values(C)],
  ];
  if (dynamic) weights.push(['zero', [], Float32Array.from([0])], ['axes', [2], Int32Array.from([0, 1])]);
  const konst = (name: string, dims: number[], dtype: string) => ({
    name,
    op: 'Const',
    attr: { value: { tensor: { ...f32(dims), dtype } }, dtype: { type: dtype } },
  });
  const node: { name: string; op: string; input?: string[]; attr: Record<string, unknown> }[] = [
    {
      name: 'x',
      op: 'Placeholder',
      attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [-1, 8, 8, 1].map((d) => ({ size: String(d) })) } } },
    },
    konst('shape', [2], 'DT_INT32'),
    konst('w1', [64, 10], 'DT_FLOAT'),
    konst('b1', [10], 'DT_FLOAT'),
    konst('w2', [10, C], 'DT_FLOAT'),
    konst('b2', [C], 'DT_FLOAT'),
    { name: 'flat', op: 'Reshape', input: ['x', 'shape'], attr: { ...T, Tshape: { type: 'DT_INT32' } } },
    {
      name: 'mm1',
      op: 'MatMul',
      input: ['flat', 'w1'],
      attr: { ...T, transpose_a: { b: false }, transpose_b: { b: false } },
    },
    { name: 'h1', op: 'BiasAdd', input: ['mm1', 'b1'], attr: T },
    { name: 'r1', op: 'Relu', input: ['h1'], attr: T },
    {
      name: 'mm2',
      op: 'MatMul',
      input: ['r1', 'w2'],
      attr: { ...T, transpose_a: { b: false }, transpose_b: { b: false } },
    },
    { name: dynamic ? 'pre' : 'logits', op: 'BiasAdd', input: ['mm2', 'b2'], attr: T },
  ];
  if (dynamic) {
    node.push(
      konst('zero', [], 'DT_FLOAT'),
      konst('axes', [2], 'DT_INT32'),
      { name: 'positive', op: 'Greater', input: ['pre', 'zero'], attr: T },
      { name: 'where', op: 'Where', input: ['positive'], attr: { T: { type: 'DT_BOOL' } } },
      {
        name: 'count',
        op: 'Sum',
        input: ['where', 'axes'],
        attr: { T: { type: 'DT_INT64' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } },
      },
      {
        name: 'countF',
        op: 'Cast',
        input: ['count'],
        attr: { SrcT: { type: 'DT_INT64' }, DstT: { type: 'DT_FLOAT' } },
      },
      { name: 'nothing', op: 'Mul', input: ['countF', 'zero'], attr: T },
      { name: 'logits', op: 'AddV2', input: ['pre', 'nothing'], attr: T },
    );
  }
  const bytes = new Uint8Array(weights.reduce((n, [, , v]) => n + v.byteLength, 0));
  let offset = 0;
  for (const [, , v] of weights) {
    bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), offset);
    offset += v.byteLength;
  }
  return {
    format: 'graph-model',
    generatedBy: 'distillery test',
    convertedBy: 'hand-written',
    modelTopology: { node, versions: { producer: 1 } },
    weightSpecs: weights.map(([name, shape, v]) => ({
      name,
      shape,
      dtype: v instanceof Int32Array ? ('int32' as const) : ('float32' as const),
    })),
    weightData: bytes.buffer,
  };
}
