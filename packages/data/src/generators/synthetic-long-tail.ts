import { type LongTailProfile, longTailCounts } from '@distillery/samplers';
import { checkNumber, checkOptions, Rng } from '@distillery/tensor';
import { InMemoryDataset } from '../dataset/in-memory-dataset';

export interface SyntheticLongTailOptions {
  numClasses?: number;
  /** n_max of the training set (default 100). */
  maxCount?: number;
  /** IF = n_max / n_min (default 100). */
  imbalanceFactor?: number;
  profile?: LongTailProfile;
  /** Balanced test samples per class (default 20). */
  testCount?: number;
  /** [H, W] (default [16, 16]). */
  size?: [number, number];
  channels?: 1 | 3;
  /** Std of the per-pixel Gaussian noise (default 0.1). */
  noise?: number;
  /** Largest random shift of the class pattern in pixels (default 2). */
  maxShift?: number;
  seed?: number;
}

/**
 * A procedural long-tailed image set: class c is a fixed pattern of three coloured Gaussian blobs (drawn from the
 * seed); each sample shifts it by up to `maxShift` pixels, scales its brightness by U(0.8, 1.2) and adds pixel noise,
 * clamped to [0, 1]. Train counts follow the CIFAR-LT profile (`longTailCounts`), the test set is balanced.
 */
export function syntheticLongTail(options: SyntheticLongTailOptions = {}): {
  train: InMemoryDataset;
  test: InMemoryDataset;
  counts: number[];
} {
  checkOptions<SyntheticLongTailOptions>(options, {
    numClasses: true,
    maxCount: true,
    imbalanceFactor: true,
    profile: ['exp', 'step'],
    testCount: true,
    size: true,
    channels: [1, 3],
    noise: true,
    maxShift: true,
    seed: true,
  });
  const C = checkNumber(options.numClasses ?? 10, 'options.numClasses', { min: 1, integer: true });
  const counts = longTailCounts({
    numClasses: C,
    maxCount: options.maxCount ?? 100,
    imbalanceFactor: options.imbalanceFactor ?? 100,
    profile: options.profile,
  });
  const testCount = checkNumber(options.testCount ?? 20, 'options.testCount', { min: 0, integer: true });
  const [H, W] = options.size ?? [16, 16];
  checkNumber(H, 'options.size[0]', { min: 2, integer: true });
  checkNumber(W, 'options.size[1]', { min: 2, integer: true });
  const ch = options.channels ?? 3;
  const noise = checkNumber(options.noise ?? 0.1, 'options.noise', { min: 0 });
  const maxShift = checkNumber(options.maxShift ?? 2, 'options.maxShift', { min: 0, integer: true });
  const rng = new Rng(checkNumber(options.seed ?? 0, 'options.seed', { integer: true }));
  const patterns = Array.from({ length: C }, () =>
    Array.from({ length: 3 }, () => ({
      y: rng.uniform(0.2, 0.8) * H,
      x: rng.uniform(0.2, 0.8) * W,
      r: rng.uniform(0.1, 0.25) * Math.min(H, W),
      colour: Array.from({ length: ch }, () => rng.uniform(0.2, 1)),
    })),
  );
  const make = (perClass: number[]) => {
    const n = perClass.reduce((a, b) => a + b, 0);
    const pixels = new Float32Array(n * H * W * ch);
    const labels = new Int32Array(n);
    let k = 0;
    perClass.forEach((count, c) => {
      for (let s = 0; s < count; s++, k++) {
        labels[k] = c;
        const dy = rng.int(2 * maxShift + 1) - maxShift;
        const dx = rng.int(2 * maxShift + 1) - maxShift;
        const gain = rng.uniform(0.8, 1.2);
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++)
            for (let q = 0; q < ch; q++) {
              let v = 0;
              for (const b of patterns[c]!) {
                const d2 = (y - b.y - dy) ** 2 + (x - b.x - dx) ** 2;
                v += b.colour[q]! * Math.exp(-d2 / (2 * b.r * b.r));
              }
              pixels[((k * H + y) * W + x) * ch + q] = Math.min(1, Math.max(0, gain * v + rng.normal(0, noise)));
            }
      }
    });
    const classNames = Array.from({ length: C }, (_, c) => `class_${c}`);
    return new InMemoryDataset({ pixels, labels, imageShape: [H, W, ch], classNames });
  };
  return { train: make(counts), test: make(new Array<number>(C).fill(testCount)), counts };
}
