import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assertNoTensorLeak, DistilleryError, tf } from '@distillery/tensor';
import { expectClose } from '@distillery/test-support';
import { describe, expect, it } from 'vitest';
import { loadDigits } from '../src/digits/load-digits';
import { pca } from '../src/features/pca';

interface PcaFixture {
  n: number;
  d: number;
  components: number;
  x: number[];
  componentsRowMajor: number[];
  explainedVariance: number[];
  explainedVarianceRatio: number;
  projected: number[];
}

// Produced by tools/reference/data/pca_reference.py (scikit-learn PCA, svd_solver='full').
const fixture = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/pca.json'), 'utf8')) as PcaFixture;

describe('pca', () => {
  // The covariance is formed in float32 (tfjs), so agreement with float64 scikit-learn is at float32 precision.
  it('matches scikit-learn PCA (components up to sign, variances, ratio, projections)', () => {
    const { n, d, components: k } = fixture;
    const x = tf.tensor2d(fixture.x, [n, d]);
    const r = pca(x, { components: k });
    expectClose(r.explainedVariance, fixture.explainedVariance, 1e-5, 0);
    expect(r.explainedVarianceRatio).toBeCloseTo(fixture.explainedVarianceRatio, 6);
    const projected = r.projected.dataSync();
    for (let c = 0; c < k; c++) {
      const ours = Array.from({ length: d }, (_, i) => r.components[c * d + i]!);
      const theirs = fixture.componentsRowMajor.slice(c * d, (c + 1) * d);
      const sign = Math.sign(ours.reduce((s, v, i) => s + v * theirs[i]!, 0));
      expectClose(
        ours.map((v) => v * sign),
        theirs,
        1e-4,
        1e-5,
      );
      expectClose(
        Array.from({ length: n }, (_, i) => projected[i * k + c]! * sign),
        Array.from({ length: n }, (_, i) => fixture.projected[i * k + c]!),
        1e-4,
        1e-4,
      );
    }
    tf.dispose([x, r.projected]);
  });

  it('is self-consistent on the digits: orthonormal axes, decreasing variances, exact reconstruction at full rank', async () => {
    const digits = loadDigits();
    const n = 300;
    const batch = digits.batch(Int32Array.from({ length: n }, (_, i) => i));
    const x = tf.reshape(batch.images, [n, -1]) as tf.Tensor2D;
    tf.dispose([batch.images, batch.labels]);
    const d = x.shape[1];
    const k = 16;
    await assertNoTensorLeak(() => pca(x, { components: k }), 3, 'pca');
    const r = pca(x, { components: k });
    // Orthonormal rows.
    for (let a = 0; a < k; a++) {
      for (let b = a; b < k; b++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += r.components[a * d + i]! * r.components[b * d + i]!;
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 4);
      }
    }
    // Decreasing, and each equals the sample variance of its projected column.
    const p = r.projected.arraySync();
    for (let c = 0; c < k; c++) {
      if (c > 0) expect(r.explainedVariance[c]!).toBeLessThanOrEqual(r.explainedVariance[c - 1]!);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += p[i]![c]! / n;
      let variance = 0;
      for (let i = 0; i < n; i++) variance += (p[i]![c]! - mean) ** 2 / (n - 1);
      expect(Math.abs(mean)).toBeLessThan(1e-3);
      expect(variance).toBeCloseTo(r.explainedVariance[c]!, 1);
      expect(Math.abs(variance - r.explainedVariance[c]!) / r.explainedVariance[c]!).toBeLessThan(1e-4);
    }
    // Fixed signs: each component's largest-magnitude entry is positive.
    for (let c = 0; c < k; c++) {
      const row = Array.from(r.components.subarray(c * d, (c + 1) * d));
      const largest = row.reduce((a, v) => (Math.abs(v) > Math.abs(a) ? v : a), 0);
      expect(largest, `component ${c}`).toBeGreaterThan(0);
    }
    expect(r.explainedVarianceRatio).toBeGreaterThan(0);
    expect(r.explainedVarianceRatio).toBeLessThan(1);
    // Full rank: the projection is a rotation of the centred data, so it reconstructs x exactly.
    const full = pca(x, { components: d });
    expect(full.explainedVarianceRatio).toBeCloseTo(1, 6);
    const back = tf.tidy(() => tf.add(tf.matMul(full.projected, tf.tensor2d(full.components, [d, d])), tf.mean(x, 0)));
    expectClose(back.dataSync(), x.dataSync(), 0, 1e-3);
    tf.dispose([x, r.projected, full.projected, back]);
  });

  it('refuses bad inputs with a DistilleryError naming the argument', () => {
    const x = tf.ones([5, 3]);
    const cases: [() => unknown, RegExp][] = [
      [() => pca(tf.ones([5]), { components: 1 }), /\bx\b/],
      [() => pca(tf.ones([1, 3]), { components: 1 }), /\bx\b/],
      [() => pca(x, { components: 0 }), /options\.components/],
      [() => pca(x, { components: 4 }), /options\.components/],
      [() => pca(x, { components: 1.5 }), /options\.components/],
      [() => pca(x, { components: 2, dims: 2 } as never), /dims/],
      [() => pca(tf.tensor2d([1, Number.NaN, 3, 4], [2, 2]), { components: 1 }), /\bx\b/],
    ];
    for (const [call, pattern] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DistilleryError);
      expect((error as Error).message).toMatch(pattern);
    }
    x.dispose();
  });
});
