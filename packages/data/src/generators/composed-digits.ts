import { checkNumber, checkOptions, Rng, type tf } from '@distillery/tensor';
import { loadDigits } from '../digits/load-digits';
import { DigitCanvas } from './digit-canvas';

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
  const canvas = new DigitCanvas(digits, N, grid);
  for (let n = 0; n < N; n++) {
    const k = lo + rng.int(hi - lo + 1);
    const order = rng.permutation(cells);
    for (let j = 0; j < k; j++) canvas.paint(n, order[j]!, rng.int(digits.length));
  }
  const S = canvas.size;
  return {
    length: N,
    imageShape: [S, S, 1],
    classNames: digits.classNames,
    targets: canvas.targets,
    slots: canvas.slots,
    batch: (indices) => canvas.batch(indices),
  };
}
