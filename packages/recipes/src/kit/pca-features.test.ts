import { loadDigits, pca } from '@distillery/data';
import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { expectClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { pcaFeatures } from './pca-features';

const digits = () => loadDigits().subset(Int32Array.from({ length: 120 }, (_, i) => i));

describe('pcaFeatures', () => {
  it('is the PCA of every image’s flattened pixels, in dataset order', () => {
    const data = digits();
    const { features, explainedVariance } = pcaFeatures(data, { components: 5 });
    const batch = data.batch(Int32Array.from({ length: data.length }, (_, i) => i));
    const pixels = tf.reshape(batch.images, [data.length, -1]);
    const expected = pca(pixels, { components: 5 });
    expect(features.shape).toEqual([120, 5]);
    expectClose(features.dataSync(), expected.projected.dataSync(), 0, 0);
    expect(explainedVariance).toBe(expected.explainedVarianceRatio);
    expect(explainedVariance).toBeGreaterThan(0.3);
    expect(explainedVariance).toBeLessThan(1);
    tf.dispose([features, batch.images, batch.labels, pixels, expected.projected]);
  });

  it('keeps nothing but the features it returns', async () => {
    const data = digits();
    await assertNoTensorLeak(() => pcaFeatures(data, { components: 3 }).features.dispose(), 3, 'pcaFeatures');
  });
});
