import { checkNumber, checkOptions, invalid, Rng, tf } from '@distillery/tensor';
import { loadDigits } from '../digits/load-digits';

/** A multi-label image set: images [N, H, W, 1] and multi-hot targets [N, C]. */
export interface MultiLabelDataset {
  readonly length: number;
  readonly imageShape: readonly [number, number, number];
  readonly classNames: readonly string[];
  /** Multi-hot targets, N·C values. */
  readonly targets: Float32Array;
  /** Which digit (or −1) sits in each grid slot, N·slots values. */
  readonly slots: Int32Array;
  batch(indices: ArrayLike<number>): { images: tf.Tensor4D; targets: tf.Tensor2D };
}

/**
 * Multi-label composed digits: each image is a grid×grid canvas of 8×8 cells (default 2×2 → 16×16×1); between
 * `minDigits` and `maxDigits` cells (distinct, uniform) receive a random UCI digit image (scaled to [0, 1]); the
 * target is the multi-hot set of the digits present (10 classes). Seeded.
 */
export function composedDigits(
  options: { numImages?: number; minDigits?: number; maxDigits?: number; grid?: number; seed?: number } = {},
): MultiLabelDataset {
  checkOptions<{ numImages?: number; minDigits?: number; maxDigits?: number; grid?: number; seed?: number }>(options, {
    numImages: true,
    minDigits: true,
    maxDigits: true,
    grid: true,
    seed: true,
  });
  const N = checkNumber(options.numImages ?? 500, 'options.numImages', { min: 1, integer: true });
  const grid = checkNumber(options.grid ?? 2, 'options.grid', { min: 1, integer: true });
  const cells = grid * grid;
  const lo = checkNumber(options.minDigits ?? 1, 'options.minDigits', { min: 1, max: cells, integer: true });
  const hi = checkNumber(options.maxDigits ?? Math.min(3, cells), 'options.maxDigits', {
    min: lo,
    max: cells,
    integer: true,
  });
  const rng = new Rng(checkNumber(options.seed ?? 0, 'options.seed', { integer: true }));
  const digits = loadDigits({ scale: 1 });
  const S = 8 * grid;
  const pixels = new Float32Array(N * S * S);
  const targets = new Float32Array(N * 10);
  const slots = new Int32Array(N * cells).fill(-1);
  for (let n = 0; n < N; n++) {
    const k = lo + rng.int(hi - lo + 1);
    const order = rng.permutation(cells);
    for (let j = 0; j < k; j++) {
      const cell = order[j]!;
      const d = rng.int(digits.length);
      const label = digits.label(d);
      slots[n * cells + cell] = label;
      targets[n * 10 + label] = 1;
      const img = digits.rawImage(d);
      const cy = Math.floor(cell / grid) * 8;
      const cx = (cell % grid) * 8;
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) pixels[(n * S + cy + y) * S + cx + x] = img[y * 8 + x]! / 16;
    }
  }
  return {
    length: N,
    imageShape: [S, S, 1],
    classNames: digits.classNames,
    targets,
    slots,
    batch(indices) {
      if (!indices || indices.length === 0) throw invalid('EMPTY_INPUT', 'indices', 'at least one index', '0');
      const B = indices.length;
      const img = new Float32Array(B * S * S);
      const tg = new Float32Array(B * 10);
      for (let b = 0; b < B; b++) {
        const i = checkNumber(indices[b], `indices[${b}]`, { min: 0, max: N - 1, integer: true });
        img.set(pixels.subarray(i * S * S, (i + 1) * S * S), b * S * S);
        tg.set(targets.subarray(i * 10, (i + 1) * 10), b * 10);
      }
      return { images: tf.tensor4d(img, [B, S, S, 1]), targets: tf.tensor2d(tg, [B, 10]) };
    },
  };
}
