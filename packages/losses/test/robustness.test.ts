import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { type LossSpec, softTargetSpecs, specs } from './specs';

function expectError(fn: () => unknown, argument: string, code?: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `expected a DistilleryError naming ${argument}`).toBeInstanceOf(DistilleryError);
  expect((error as DistilleryError).argument).toBe(argument);
  if (code) expect((error as DistilleryError).code).toBe(code);
}

const disposeAll = (args: unknown[]) => tf.dispose(args.filter((a): a is tf.Tensor => a instanceof tf.Tensor));

/** Forward + backward with respect to the differentiable inputs; returns [loss, ...grads]. */
function forwardBackward(spec: LossSpec, args: unknown[], options?: Record<string, unknown>): tf.Tensor[] {
  const xs = spec.differentiable.map((i) => args[i] as tf.Tensor);
  const f = (...diff: tf.Tensor[]) => {
    const full = args.slice();
    spec.differentiable.forEach((i, k) => {
      full[i] = diff[k];
    });
    return spec.call(full, options);
  };
  const { value, grads } = tf.valueAndGrads(f)(xs);
  return [value, ...grads];
}

describe.each([...specs, ...softTargetSpecs])('$name robustness', (spec) => {
  const other = spec.mismatchIndex;
  if (other !== undefined) {
    it('rejects inputs whose shapes disagree, naming the second argument', () => {
      const args = spec.make(4, 5);
      const bad = args.slice();
      bad[other] = tf.zeros([4, 6]);
      expectError(() => spec.call(bad), spec.argNames[other]!, 'SHAPE_MISMATCH');
      disposeAll([...args, bad[other]]);
    });
  }

  const ci = spec.countsIndex;
  if (ci !== undefined) {
    it('rejects per-class counts with a zero, the wrong length or a NaN, naming the argument', () => {
      const args = spec.make(3, 5);
      const bad = args.slice();
      bad[ci] = [10, 5, 0, 2, 1];
      expectError(() => spec.call(bad), spec.argNames[ci]!, 'OUT_OF_RANGE');
      bad[ci] = [10, 5, 2, 1];
      expectError(() => spec.call(bad), spec.argNames[ci]!, 'SHAPE_MISMATCH');
      bad[ci] = [10, 5, Number.NaN, 2, 1];
      expectError(() => spec.call(bad), spec.argNames[ci]!, 'NON_FINITE');
      bad[ci] = tf.tensor1d([10, 5, 3, 2, 1]);
      const value = spec.call(bad);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      tf.dispose([value, bad[ci] as tf.Tensor]);
      disposeAll(args);
    });
  }

  it('rejects an empty batch (N = 0) and non-2D logits', () => {
    const args = spec.make(4, 5);
    const bad = args.slice();
    bad[0] = tf.zeros([0, 5]);
    expectError(() => spec.call(bad), spec.argNames[0]!, 'EMPTY_INPUT');
    tf.dispose(bad[0] as tf.Tensor);
    bad[0] = tf.zeros([4, 5, 1]);
    expectError(() => spec.call(bad), spec.argNames[0]!, 'INVALID_RANK');
    disposeAll([...args, bad[0]]);
  });

  if (spec.minClasses > 1) {
    it(`rejects C < ${spec.minClasses} (the non-target term needs another class)`, () => {
      const args = spec.make(3, spec.minClasses - 1);
      expectError(() => spec.call(args), spec.argNames[0]!, 'OUT_OF_RANGE');
      disposeAll(args);
    });
  }

  if (spec.labelsIndex !== undefined && !spec.name.includes('soft')) {
    const li = spec.labelsIndex;
    it('rejects labels out of range, non-integer labels and a label count that differs from N', () => {
      const args = spec.make(3, 5);
      const bad = args.slice();
      bad[li] = tf.tensor1d([0, 5, 1], 'int32');
      expectError(() => spec.call(bad), 'labels', 'OUT_OF_RANGE');
      tf.dispose(bad[li] as tf.Tensor);
      bad[li] = tf.tensor1d([0, -1, 1], 'int32');
      expectError(() => spec.call(bad), 'labels', 'OUT_OF_RANGE');
      tf.dispose(bad[li] as tf.Tensor);
      bad[li] = tf.tensor1d([0, 1.5, 1], 'float32');
      expectError(() => spec.call(bad), 'labels', 'NOT_INTEGER');
      tf.dispose(bad[li] as tf.Tensor);
      bad[li] = tf.tensor1d([0, 1], 'int32');
      expectError(() => spec.call(bad), 'labels', 'SHAPE_MISMATCH');
      tf.dispose(bad[li] as tf.Tensor);
      disposeAll(args);
    });
  }

  it('throws NON_FINITE for NaN logits with checkFinite (and only then reads the data)', () => {
    const args = spec.make(3, 5);
    const bad = args.slice();
    bad[0] = tf.tensor2d([
      [0, 1, 2, 3, 4],
      [0, Number.NaN, 2, 3, 4],
      [0, 1, 2, 3, 4],
    ]);
    expectError(() => spec.call(bad, { checkFinite: true }), spec.argNames[0]!, 'NON_FINITE');
    disposeAll([...args, bad[0]]);
  });

  it('rejects a non-object options argument', () => {
    const args = spec.make(3, 5);
    expectError(() => spec.call(args, 3 as unknown as Record<string, unknown>), 'options', 'INVALID_ARGUMENT');
    disposeAll(args);
  });

  it('gives a finite loss and finite gradients at ±1e4 logits', () => {
    const args = spec.make(8, 10, 1e4);
    const outs = forwardBackward(spec, args);
    for (const t of outs) {
      const values = t.dataSync();
      expect(
        Array.from(values).every((v) => Number.isFinite(v)),
        `${spec.name}: non-finite output`,
      ).toBe(true);
    }
    tf.dispose(outs);
    disposeAll(args);
  });

  it('allocates nothing that outlives a forward + backward pass (100 iterations)', async () => {
    const args = spec.make(8, 10);
    await assertNoTensorLeak(() => forwardBackward(spec, args), 100, spec.name);
    disposeAll(args);
  });
});
