import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, DistilleryError, describeValue, invalid } from '../errors';

export interface LeakReport {
  iterations: number;
  /** Live tensors before the first measured iteration (after a warm-up call). */
  before: number;
  after: number;
  /** Tensors added over all measured iterations (0 means no leak). */
  growth: number;
  perIteration: number;
  /** Bytes added (backend memory as tfjs counts it). */
  bytesGrowth: number;
}

/**
 * Runs `fn` once to warm up (kernels compile, caches fill), then `iterations` times, and reports how many live
 * tensors were added. Whatever `fn` returns is disposed, so a function that returns its result is not a leak.
 */
export async function measureTensorGrowth(fn: () => unknown | Promise<unknown>, iterations = 10): Promise<LeakReport> {
  if (typeof fn !== 'function') throw invalid('INVALID_ARGUMENT', 'fn', 'a function', describeValue(fn));
  checkNumber(iterations, 'iterations', { min: 1, integer: true });
  const once = async () => {
    const result = await fn();
    disposeResult(result);
  };
  await once();
  const start = tf.memory();
  for (let i = 0; i < iterations; i++) await once();
  const end = tf.memory();
  const growth = end.numTensors - start.numTensors;
  return {
    iterations,
    before: start.numTensors,
    after: end.numTensors,
    growth,
    perIteration: growth / iterations,
    bytesGrowth: end.numBytes - start.numBytes,
  };
}

/** Throws a LEAK DistilleryError when `fn` adds live tensors over `iterations` calls. */
export async function assertNoTensorLeak(
  fn: () => unknown | Promise<unknown>,
  iterations = 10,
  label = 'function',
): Promise<LeakReport> {
  const report = await measureTensorGrowth(fn, iterations);
  if (report.growth !== 0) {
    throw new DistilleryError(
      'LEAK',
      `${label}: expected no tensor growth over ${iterations} calls, got +${report.growth} tensors (${report.perIteration}/call, +${report.bytesGrowth} bytes)`,
      { argument: label, expected: '0 new tensors', actual: `+${report.growth}` },
    );
  }
  return report;
}

function disposeResult(result: unknown): void {
  if (result instanceof tf.Variable) return;
  if (result instanceof tf.Tensor) {
    result.dispose();
  } else if (Array.isArray(result)) {
    for (const item of result) disposeResult(item);
  } else if (result && typeof result === 'object') {
    for (const value of Object.values(result)) disposeResult(value);
  }
}
