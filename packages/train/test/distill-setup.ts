// Tiny data and models for the distill()/train() tests: 8×8 grey images of 3 classes (a bright quadrant per class plus
// noise), ViT students with 2 blocks, a ViT or ResNet teacher.
import { createRng, tf } from '@distillery/tensor';
import { createViT, ResNetCifar } from '@distillery/vit';
import type { LabelledData } from '../src/distill/run-setup';

export const C = 3;

export function blobs(n = 24, seed = 0, classes = C): LabelledData & { images: Float32Array } {
  const rng = createRng(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const images = new Float32Array(n * 64);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    for (let p = 0; p < 64; p++) {
      const r = Math.floor(p / 8);
      const c = p % 8;
      const quadrant = (r < 4 ? 0 : 2) + (c < 4 ? 0 : 1);
      images[i * 64 + p] = (quadrant === y ? 1 : 0) + rng.normal(0, 0.3);
    }
  }
  return {
    length: n,
    images,
    classNames: Array.from({ length: classes }, (_, c) => `class${c}`),
    labels: () => labels,
    batch(indices: ArrayLike<number>) {
      const k = indices.length;
      const out = new Float32Array(k * 64);
      const ys = new Int32Array(k);
      for (let j = 0; j < k; j++) {
        out.set(images.subarray(indices[j]! * 64, (indices[j]! + 1) * 64), j * 64);
        ys[j] = labels[indices[j]!]!;
      }
      return { images: tf.tensor4d(out, [k, 8, 8, 1]), labels: tf.tensor1d(ys, 'int32') };
    },
  };
}

export function student(seed = 1, extra: { distilled?: boolean; numClasses?: number } = {}) {
  return createViT('deit-tiny-patch2-8', {
    inChannels: 1,
    numClasses: C,
    embedDim: 16,
    depth: 2,
    numHeads: 2,
    seed,
    ...extra,
  });
}

export function vitTeacher(seed = 7, numClasses = C) {
  return createViT('deit-tiny-patch2-8', { inChannels: 1, numClasses, embedDim: 24, depth: 2, numHeads: 2, seed });
}

export function resnetTeacher(seed = 9, numClasses = C) {
  return new ResNetCifar({ numClasses, inChannels: 1, blocks: [1, 1, 1], widths: [4, 8, 8], seed });
}

export async function snapshot(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => Float32Array.from(await v.data())));
}

export function changed(before: Float32Array[], after: Float32Array[]): boolean {
  return before.some((b, i) => b.some((x, j) => x !== after[i]![j]));
}
