import { batchIndices, type Sampler } from '@distillery/samplers';
import { checkNumber, checkOptions } from '@distillery/tensor';
import type { Batch, ImageDataset } from './dataset';

/**
 * The batches of one epoch: `sampler.indices(epoch)` split into batches (drop-last optional), each made by
 * `dataset.batch`. A generator, so only the current batch is in memory; the caller disposes each batch.
 */
export function* epochBatches(
  dataset: ImageDataset,
  sampler: Sampler,
  epoch: number,
  batchSize: number,
  options: { dropLast?: boolean; startBatch?: number } = {},
): Generator<Batch & { indices: Int32Array; batchIndex: number }> {
  const { dropLast, startBatch = 0 } = checkOptions<{ dropLast?: boolean; startBatch?: number }>(options, {
    dropLast: [true, false],
    startBatch: true,
  });
  checkNumber(startBatch, 'options.startBatch', { min: 0, integer: true });
  const batches = batchIndices(sampler.indices(epoch), batchSize, { dropLast });
  for (let b = startBatch; b < batches.length; b++) {
    const indices = batches[b]!;
    yield { ...dataset.batch(indices), indices, batchIndex: b };
  }
}
