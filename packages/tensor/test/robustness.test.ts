// Bad inputs of the reliability sweep for @distillery/tensor: every public function that takes options, labels or
// files. (The seeded generators of random/ belong to another change and are left out here.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertLabels,
  assertLogits,
  assertNoTensorLeak,
  assertRank,
  assertShape,
  assertTensor,
  checkEnum,
  checkNumber,
  checkOptions,
  DistilleryError,
  describeBackends,
  entryToFloat32,
  initBackend,
  klDivergence,
  logSoftmaxWithTemperature,
  logSumExp,
  measureTensorGrowth,
  oneHotFloat,
  parseSafetensors,
  readSafetensorsFile,
  runConformance,
  serializeSafetensors,
  softmaxWithTemperature,
  tf,
  writeSafetensorsFile,
} from '../src/index';

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-tensor-robustness-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Call = () => unknown;
/** Runs `f` with fresh tensors that are disposed afterwards, whatever happens. */
const withTensors =
  (make: () => tf.Tensor[], f: (...t: tf.Tensor[]) => unknown): Call =>
  () => {
    const ts = make();
    try {
      return f(...ts);
    } finally {
      tf.dispose(ts);
    }
  };
const probs = () => [tf.tensor2d([[0.5, 0.5]]), tf.tensor2d([[-0.7, -0.7]])];
const f32 = new Float32Array(2);

const sync: Record<string, [Call, string][]> = {
  checkOptions: [
    [() => checkOptions({ temprature: 1 }, { temperature: true }), 'options.temprature'],
    [() => checkOptions({ mode: 'x' }, { mode: ['a', 'b'] }, 'fit options'), 'fit options.mode'],
    [() => checkOptions([1], { a: true }), 'options'],
    [() => checkOptions('a', { a: true }), 'options'],
  ],
  checkEnum: [
    [() => checkEnum('epochs', 'scheduleUnit', ['epoch', 'step']), 'scheduleUnit'],
    [() => checkEnum(undefined, 'reduction', ['mean', 'sum']), 'reduction'],
  ],
  checkNumber: [
    [() => checkNumber(Number.NaN, 'lr'), 'lr'],
    [() => checkNumber(1.5, 'epochs', { integer: true }), 'epochs'],
    [() => checkNumber(-1, 'tau', { min: 0 }), 'tau'],
    [() => checkNumber('3', 'x'), 'x'],
  ],
  serializeSafetensors: [
    [() => serializeSafetensors({ w: { dtype: 'F8' as 'F32', shape: [2], data: f32 } }), 'tensors.w.dtype'],
    [() => serializeSafetensors({ w: { shape: [2], data: f32, dtyp: 'F16' } as never }), 'tensors.w.dtyp'],
    [() => serializeSafetensors({ w: { shape: [3], data: f32 } }), 'tensors.w.data'],
    [() => serializeSafetensors({ w: { shape: [2], data: [1, 2] as never } }), 'tensors.w.data'],
    [() => serializeSafetensors({ w: { shape: [-2], data: f32 } }), 'tensors.w.shape'],
    [() => serializeSafetensors({ w: { shape: [2], data: f32 } }, { step: 3 as never }), 'metadata.step'],
    [() => serializeSafetensors(undefined as never), 'tensors'],
  ],
  parseSafetensors: [
    [() => parseSafetensors(new Uint8Array(3), 'a.safetensors'), 'a.safetensors'],
    [() => parseSafetensors(new Uint8Array(16).fill(255), 'b.safetensors'), 'b.safetensors'],
  ],
  klDivergence: [
    [withTensors(probs, (p, q) => klDivergence(p!, q!, { reduction: 'batchmeen' as 'sum' })), 'options.reduction'],
    [withTensors(probs, (p, q) => klDivergence(p!, q!, { reductoin: 'sum' } as never)), 'options.reductoin'],
    [
      withTensors(
        () => [tf.zeros([1, 3]), tf.zeros([1, 2])],
        (p, q) => klDivergence(p!, q!),
      ),
      'logProbs',
    ],
  ],
  logSumExp: [
    [
      withTensors(
        () => [tf.zeros([2, 3])],
        (x) => logSumExp(x!, { keepdims: false } as never),
      ),
      'options.keepdims',
    ],
    [
      withTensors(
        () => [tf.zeros([2, 3])],
        (x) => logSumExp(x!, { keepDims: 'no' as never }),
      ),
      'options.keepDims',
    ],
    [() => logSumExp([1, 2] as never), 'x'],
  ],
  oneHotFloat: [
    [
      withTensors(
        () => [tf.tensor1d([0, 5], 'int32')],
        (y) => oneHotFloat(y as tf.Tensor1D, 3),
      ),
      'labels',
    ],
    [
      withTensors(
        () => [tf.tensor1d([0, -1], 'int32')],
        (y) => oneHotFloat(y as tf.Tensor1D, 3),
      ),
      'labels',
    ],
    [
      withTensors(
        () => [tf.tensor1d([0, 0.5])],
        (y) => oneHotFloat(y as tf.Tensor1D, 3),
      ),
      'labels',
    ],
    [
      withTensors(
        () => [tf.tensor1d([0, 1], 'int32')],
        (y) => oneHotFloat(y as tf.Tensor1D, 0),
      ),
      'numClasses',
    ],
  ],
  softmaxWithTemperature: [
    [
      withTensors(
        () => [tf.zeros([1, 2])],
        (x) => softmaxWithTemperature(x!, 0),
      ),
      'temperature',
    ],
    [
      withTensors(
        () => [tf.zeros([1, 2])],
        (x) => softmaxWithTemperature(x!, Number.NaN),
      ),
      'temperature',
    ],
  ],
  logSoftmaxWithTemperature: [
    [
      withTensors(
        () => [tf.zeros([1, 2])],
        (x) => logSoftmaxWithTemperature(x!, -1),
      ),
      'temperature',
    ],
  ],
  assertLabels: [
    [
      withTensors(
        () => [tf.tensor1d([0, 3], 'int32')],
        (y) => assertLabels(y, 3, 'labels'),
      ),
      'labels',
    ],
    [
      withTensors(
        () => [tf.tensor1d([0, 1], 'int32')],
        (y) => assertLabels(y, 3, 'labels', 3),
      ),
      'labels',
    ],
    [
      withTensors(
        () => [tf.tensor2d([[0]], [1, 1], 'int32')],
        (y) => assertLabels(y, 3, 'labels'),
      ),
      'labels',
    ],
  ],
  assertLogits: [
    [
      withTensors(
        () => [tf.zeros([2])],
        (x) => assertLogits(x, 'logits'),
      ),
      'logits',
    ],
    [
      withTensors(
        () => [tf.zeros([2, 1])],
        (x) => assertLogits(x, 'logits', 2),
      ),
      'logits',
    ],
  ],
  assertTensor: [[() => assertTensor([1, 2], 'x'), 'x']],
  assertRank: [
    [
      withTensors(
        () => [tf.zeros([2])],
        (x) => assertRank(x, 2, 'x'),
      ),
      'x',
    ],
  ],
  assertShape: [
    [
      withTensors(
        () => [tf.zeros([2, 3])],
        (x) => assertShape(x, [2, 4], 'x'),
      ),
      'x',
    ],
  ],
};

const asynchronous: Record<string, [() => Promise<unknown>, string][]> = {
  initBackend: [
    [() => initBackend('gpu' as 'cpu'), 'preference'],
    [() => initBackend('cpu', { allowSoftwareWebgpu: true } as never), 'options.allowSoftwareWebgpu'],
    [() => initBackend('cpu', { allowSoftwareWebGPU: 'yes' as never }), 'options.allowSoftwareWebGPU'],
    [() => initBackend('wasm', { threads: 0 }), 'options.threads'],
    [() => initBackend('wasm', { threads: 2.5 }), 'options.threads'],
    [() => initBackend('wasm', { threads: '2' as never }), 'options.threads'],
    [() => initBackend('cpu', { threads: 2 }), 'options.threads'],
  ],
  describeBackends: [[() => describeBackends({ wasmPath: '/x' } as never), 'options.wasmPath']],
  runConformance: [
    [() => runConformance(['cpu'], { tolerence: 1e-3 } as never), 'options.tolerence'],
    [() => runConformance(['cpu'], { tolerance: -1 }), 'options.tolerance'],
    [() => runConformance(['cpu'], { only: ['no-such-case'] }), 'options.only'],
  ],
  readSafetensorsFile: [
    [() => readSafetensorsFile(path.join(work, 'missing.safetensors')), 'path'],
    [
      () => {
        const file = path.join(work, 'garbage.safetensors');
        writeFileSync(file, new Uint8Array([1, 2, 3]));
        return readSafetensorsFile(file);
      },
      path.join(work, 'garbage.safetensors'),
    ],
  ],
  writeSafetensorsFile: [
    [
      () =>
        writeSafetensorsFile(path.join(work, 'w.safetensors'), { w: { dtype: 'F8' as 'F32', shape: [2], data: f32 } }),
      'tensors.w.dtype',
    ],
    [() => writeSafetensorsFile(path.join(work, 'no-dir', 'w.safetensors'), { w: { shape: [2], data: f32 } }), 'path'],
  ],
  measureTensorGrowth: [
    [() => measureTensorGrowth(() => undefined, 0), 'iterations'],
    [() => measureTensorGrowth('f' as never), 'fn'],
  ],
  assertNoTensorLeak: [[() => assertNoTensorLeak(() => void tf.zeros([1]), 2, 'leaky'), 'leaky']],
};

function expectNamed(error: unknown, name: string, argument: string): void {
  expect(error, `${name}: expected a DistilleryError naming ${argument}`).toBeInstanceOf(DistilleryError);
  expect((error as DistilleryError).argument, (error as Error).message).toBe(argument);
}

describe('@distillery/tensor robustness: every bad input is a DistilleryError naming the argument', () => {
  for (const [name, calls] of Object.entries(sync)) {
    it(`${name}: ${calls.length} bad inputs`, () => {
      const before = tf.memory().numTensors;
      for (const [call, argument] of calls) {
        let error: unknown;
        try {
          call();
        } catch (e) {
          error = e;
        }
        expectNamed(error, name, argument);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }
  for (const [name, calls] of Object.entries(asynchronous)) {
    it(`${name}: ${calls.length} bad inputs`, async () => {
      const backend = tf.getBackend();
      for (const [call, argument] of calls) {
        expectNamed(
          await call().then(
            () => undefined,
            (e: unknown) => e,
          ),
          name,
          argument,
        );
      }
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
    });
  }

  it('entryToFloat32 reads back what serializeSafetensors wrote in F16 (no F32 bytes under an F16 header)', () => {
    const bytes = serializeSafetensors({ w: { dtype: 'F16', shape: [3], data: Float32Array.from([1, -2.5, 0.1]) } });
    const entry = parseSafetensors(bytes).tensors.get('w')!;
    expect(Array.from(entryToFloat32(entry))).toEqual([1, -2.5, 0.0999755859375]);
  });
});
