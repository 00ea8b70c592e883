import * as tf from '@tensorflow/tfjs-core';
import { type BackendPreference, initBackend } from '../backends/init-backend';
import { checkNumber, describeValue, invalid } from '../errors';
import { checkOptions } from '../options';
import { conformanceCases } from './cases';

export interface ConformanceOutput {
  shape: number[];
  values: number[];
}
export type ConformanceResults = Record<string, Record<string, ConformanceOutput>>;

export interface ConformanceMismatch {
  backend: string;
  caseName: string;
  output: string;
  index: number;
  expected: number;
  actual: number;
}

export interface ConformanceReport {
  reference: string;
  backends: string[];
  /** Cases that threw, per backend. */
  errors: { backend: string; caseName: string; message: string }[];
  mismatches: ConformanceMismatch[];
  /** Largest |a − b| / (1 + |b|) seen per backend. */
  maxError: Record<string, number>;
  results: Record<string, ConformanceResults>;
  passed: boolean;
}

/** Runs every conformance case on the active backend and reads the outputs back. */
export async function runConformanceCases(
  only?: string[],
): Promise<{ results: ConformanceResults; errors: { caseName: string; message: string }[] }> {
  const results: ConformanceResults = {};
  const errors: { caseName: string; message: string }[] = [];
  for (const c of conformanceCases) {
    if (only && !only.includes(c.name)) continue;
    let outputs: Record<string, tf.Tensor> = {};
    try {
      outputs = tf.tidy(() => c.run());
      const entry: Record<string, ConformanceOutput> = {};
      for (const [name, t] of Object.entries(outputs)) {
        entry[name] = { shape: t.shape.slice(), values: Array.from(await t.data()) };
      }
      results[c.name] = entry;
    } catch (error) {
      errors.push({ caseName: c.name, message: (error as Error).message });
    } finally {
      tf.dispose(Object.values(outputs));
    }
  }
  return { results, errors };
}

/**
 * Runs the conformance cases on each backend (the first is the reference) and compares every output and gradient
 * elementwise: |a − b| ≤ tolerance·(1 + |b|). Leaves the last backend active.
 */
export async function runConformance(
  backends: BackendPreference[] = ['cpu', 'wasm'],
  options: { tolerance?: number; only?: string[] } = {},
): Promise<ConformanceReport> {
  const { tolerance = 1e-5, only } = checkOptions<{ tolerance?: number; only?: string[] }>(options, {
    tolerance: true,
    only: true,
  });
  checkNumber(tolerance, 'options.tolerance', { min: 0 });
  if (only !== undefined && (!Array.isArray(only) || only.some((n) => !conformanceCases.some((c) => c.name === n)))) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.only',
      `names of conformance cases (${conformanceCases.map((c) => c.name).join(', ')})`,
      describeValue(only),
    );
  }
  const report: ConformanceReport = {
    reference: '',
    backends: [],
    errors: [],
    mismatches: [],
    maxError: {},
    results: {},
    passed: false,
  };
  for (const preference of backends) {
    const name = await initBackend(preference);
    report.backends.push(name);
    const { results, errors } = await runConformanceCases(only);
    report.results[name] = results;
    for (const e of errors) report.errors.push({ backend: name, ...e });
  }
  const reference = report.backends[0] as string;
  report.reference = reference;
  const expected = report.results[reference] as ConformanceResults;
  for (const backend of report.backends.slice(1)) {
    let worst = 0;
    const actualAll = report.results[backend] as ConformanceResults;
    for (const [caseName, outputs] of Object.entries(expected)) {
      const actualOutputs = actualAll[caseName];
      if (!actualOutputs) continue;
      for (const [output, ref] of Object.entries(outputs)) {
        const got = actualOutputs[output];
        if (!got || got.values.length !== ref.values.length) {
          report.mismatches.push({
            backend,
            caseName,
            output,
            index: -1,
            expected: ref.values.length,
            actual: got?.values.length ?? 0,
          });
          continue;
        }
        ref.values.forEach((e, i) => {
          const a = got.values[i] as number;
          const err = Math.abs(a - e) / (1 + Math.abs(e));
          if (Number.isNaN(err) || err > tolerance)
            report.mismatches.push({ backend, caseName, output, index: i, expected: e, actual: a });
          if (err > worst) worst = err;
        });
      }
    }
    report.maxError[backend] = worst;
  }
  report.passed = report.errors.length === 0 && report.mismatches.length === 0;
  return report;
}
