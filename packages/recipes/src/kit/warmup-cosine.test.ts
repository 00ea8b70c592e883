import { warmupCosineLR } from '@distillery/train';
import { describe, expect, it } from 'vitest';
import { warmupCosine } from './warmup-cosine';

describe('warmupCosine', () => {
  it('is warmupCosineLR over the epochs, with the warm-up capped at epochs − 1', () => {
    const long = warmupCosine({ lr: 0.1, epochs: 10, warmupEpochs: 3, warmupLrInit: 0.01, minLr: 1e-4 });
    const ref = warmupCosineLR(0.1, { totalSteps: 10, warmupSteps: 3, warmupLrInit: 0.01, minLr: 1e-4 });
    for (let t = 0; t < 12; t++) expect(long(t)).toBe(ref(t));
    // Two epochs: one warm-up epoch, then the decay (a warm-up of 3 would never reach the peak).
    const short = warmupCosine({ lr: 0.1, epochs: 2, warmupEpochs: 3, warmupLrInit: 0.01 });
    expect(short(0)).toBeCloseTo(0.01, 12);
    expect(short(1)).toBeCloseTo(0.05, 12);
    // One epoch: no warm-up at all.
    expect(warmupCosine({ lr: 0.1, epochs: 1, warmupEpochs: 2 })(0)).toBe(0.1);
  });
});
