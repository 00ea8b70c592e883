import { assertDtype, assertRank, formatShape, invalid, readSyncIfResident, type tf } from '@distillery/tensor';

/**
 * Soft targets (probabilities): a float32 `[N, C]` tensor whose values are finite and non-negative. Values are read
 * wherever that is cheap (always on cpu, wasm and tfjs-node; on WebGPU while the data is still CPU-resident), as the
 * integer-label checks do. A NaN or negative target would otherwise give a finite, meaningless loss.
 *
 * @param targets     the tensor to check
 * @param argument    the name used in errors
 * @param shape       the expected `[N, C]`, when known (each entry may be null)
 */
export function assertSoftTargets(
  targets: unknown,
  argument: string,
  shape?: readonly [number | null, number | null],
): tf.Tensor2D {
  const t = assertRank(targets, 2, argument);
  assertDtype(t, ['float32'], argument);
  if (shape?.some((d, i) => d !== null && d !== t.shape[i])) {
    throw invalid(
      'SHAPE_MISMATCH',
      argument,
      `soft targets of shape ${formatShape(shape)}`,
      `shape ${formatShape(t.shape)}`,
    );
  }
  const values = readSyncIfResident(t);
  if (values) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) throw invalid('NON_FINITE', argument, 'finite soft targets', `${v} at flat index ${i}`);
      if (v < 0) throw invalid('OUT_OF_RANGE', argument, 'non-negative soft targets', `${v} at flat index ${i}`);
    }
  }
  return t as tf.Tensor2D;
}
