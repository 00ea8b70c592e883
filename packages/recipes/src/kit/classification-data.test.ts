import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { loadClassificationData } from './classification-data';

describe('loadClassificationData', () => {
  it('gives the digits by default, with their shape and a balanced test set', async () => {
    const d = await loadClassificationData(undefined, { seed: 0 });
    expect([d.name, d.numClasses, d.imageSize, d.inChannels]).toEqual(['digits', 10, 8, 1]);
    expect(d.test.length).toBe(500);
    expect(d.pool.length).toBe(1297);
    expect(d.testNote).toBe('balanced test set of 50 images per class');
  });

  it('reads any other --data as a CIFAR path (a missing one is a DistilleryError, not a fallback to digits)', async () => {
    await expect(loadClassificationData('/no/such/cifar-100-binary', { seed: 0 })).rejects.toBeInstanceOf(
      DistilleryError,
    );
  });
});
