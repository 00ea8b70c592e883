import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '@distillery/tensor';
import { expectClose } from '@distillery/test-support';
import { expect } from 'vitest';

export interface EncodedTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: number[];
}

export interface FixtureCase {
  name: string;
  fn: string;
  /** Call order: an input name, or a list of names passed as an array of tensors (MDCS experts). */
  args: (string | string[])[];
  inputs: Record<string, EncodedTensor | number[] | number>;
  options: Record<string, unknown>;
  loss: number;
  grads: Record<string, number[]>;
  detached: string[];
}

const fixtureDir = path.resolve(__dirname, 'fixtures');

/** Every case of the fixture files whose name starts with `prefix`. */
export function loadCases(prefix: string): FixtureCase[] {
  return readdirSync(fixtureDir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      const file = JSON.parse(readFileSync(path.join(fixtureDir, f), 'utf8')) as {
        tensors?: Record<string, EncodedTensor>;
        cases: FixtureCase[];
      };
      // identical input tensors are stored once and referenced as { ref }
      for (const c of file.cases) {
        for (const [name, value] of Object.entries(c.inputs)) {
          const ref = (value as { ref?: string }).ref;
          if (ref !== undefined) c.inputs[name] = file.tensors?.[ref] as EncodedTensor;
        }
      }
      return file.cases;
    });
}

export function isEncoded(v: unknown): v is EncodedTensor {
  return typeof v === 'object' && v !== null && 'shape' in v && 'data' in v;
}

export function decode(v: EncodedTensor): tf.Tensor {
  return tf.tensor(v.data, v.shape, v.dtype);
}

/** A loss value at 1e-5 relative (+1e-7 absolute, for losses near zero). */
export function expectValueClose(actual: number, expected: number, label: string, rtol = 1e-5): void {
  expectClose([actual], [expected], rtol, 1e-7, label);
}

/**
 * Gradients at 1e-4: each entry within 1e-4·(|expected| + max|expected|), i.e. relative to the entry and to the scale
 * of the whole gradient (entries that are tiny next to the rest compare absolutely), with 1e-12 absolute for
 * gradients that vanish. A NaN anywhere fails.
 */
export function expectGradClose(actual: ArrayLike<number>, expected: number[], label: string, tol = 1e-4): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expectClose(actual, expected, tol, tol * scale + 1e-12, label);
}

type LossFn = (...args: unknown[]) => tf.Tensor;

/**
 * Runs a fixture case: the loss value, and gradients with respect to every input listed in `grads` and `detached`
 * (as trainable variables; a variable the tape never reaches has a zero gradient).
 */
export function runCase(
  fns: Record<string, unknown>,
  c: FixtureCase,
): { loss: number; grads: Record<string, Float32Array | null> } {
  const fn = fns[c.fn] as LossFn;
  if (typeof fn !== 'function') throw new Error(`unknown function ${c.fn}`);
  const wrt = [...Object.keys(c.grads), ...c.detached];
  const made: tf.Tensor[] = [];
  const vars: Record<string, tf.Variable> = {};
  const input = (name: string) => {
    const v = c.inputs[name];
    if (!isEncoded(v)) return v;
    const t = decode(v);
    made.push(t);
    if (wrt.includes(name)) {
      const variable = tf.variable(t, true, `${name}_${Math.random().toString(36).slice(2)}`);
      vars[name] = variable;
      made.push(variable);
      return variable;
    }
    return t;
  };
  const args = c.args.map((spec) => (Array.isArray(spec) ? spec.map(input) : input(spec)));
  try {
    const varList = wrt.map((name) => vars[name] as tf.Variable);
    const { value, grads } = tf.variableGrads(() => fn(...args, c.options) as tf.Scalar, varList);
    const loss = value.dataSync()[0] as number;
    const out: Record<string, Float32Array | null> = {};
    for (const name of wrt) {
      const g = grads[(vars[name] as tf.Variable).name];
      out[name] = g ? (g.dataSync() as Float32Array) : null;
    }
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, grads: out };
  } finally {
    tf.dispose(made);
  }
}

/** Checks a case against its fixture: loss at 1e-5, gradients at 1e-4, detached inputs with zero gradient. */
export function checkCase(fns: Record<string, unknown>, c: FixtureCase): void {
  const before = tf.memory().numTensors;
  const { loss, grads } = runCase(fns, c);
  expect(tf.memory().numTensors, `${c.name}: tensors leaked`).toBe(before);
  expectValueClose(loss, c.loss, `${c.name} loss`);
  for (const [name, expected] of Object.entries(c.grads)) {
    const g = grads[name];
    expect(g, `${c.name}: no gradient for ${name}`).not.toBeNull();
    expectGradClose(g as Float32Array, expected, `${c.name} d/d${name}`);
  }
  for (const name of c.detached) {
    const g = grads[name];
    if (g) expect(Math.max(...Array.from(g, Math.abs)), `${c.name}: ${name} must be detached`).toBe(0);
  }
}
