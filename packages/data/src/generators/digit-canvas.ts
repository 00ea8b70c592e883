import { checkNumber, invalid, tf } from '@distillery/tensor';
import type { InMemoryDataset } from '../dataset/in-memory-dataset';

/**
 * What the multi-label generators (`composedDigits`, `sceneDigits`, `sceneImages`) paint into: `length` canvases of
 * grid×grid cells, each cell one item image (by default an 8×8 UCI digit with raw 0–16 values, scaled to [0, 1]),
 * with their multi-hot targets (10 classes) and the label held by each cell (−1 when empty).
 */
export class DigitCanvas {
  /** Canvas side in pixels (cell·grid). */
  readonly size: number;
  readonly pixels: Float32Array;
  readonly targets: Float32Array;
  readonly slots: Int32Array;

  /**
   * `cellPixels(d)` gives item `d`'s cell×cell pixels in [0, 1] (default: the 8×8 raw digit divided by 16).
   */
  constructor(
    private readonly digits: InMemoryDataset,
    readonly length: number,
    readonly grid: number,
    private readonly cellPixels: (d: number) => ArrayLike<number> = (d) =>
      Float32Array.from(digits.rawImage(d), (v) => v / 16),
    readonly cell = 8,
  ) {
    this.size = cell * grid;
    this.pixels = new Float32Array(length * this.size * this.size);
    this.targets = new Float32Array(length * 10);
    this.slots = new Int32Array(length * grid * grid).fill(-1);
  }

  /** Puts item `d` into cell `cell` of canvas `n` and marks its label present. */
  paint(n: number, cell: number, d: number): void {
    const { grid, size: S } = this;
    const label = this.digits.label(d);
    this.slots[n * grid * grid + cell] = label;
    this.targets[n * 10 + label] = 1;
    const img = this.cellPixels(d);
    const c = this.cell;
    const cy = Math.floor(cell / grid) * c;
    const cx = (cell % grid) * c;
    for (let y = 0; y < c; y++)
      for (let x = 0; x < c; x++) this.pixels[(n * S + cy + y) * S + cx + x] = img[y * c + x]!;
  }

  /** Canvases `indices` as tensors: images `[B, S, S, 1]` and multi-hot targets `[B, 10]`. */
  batch(indices: ArrayLike<number>): { images: tf.Tensor4D; targets: tf.Tensor2D } {
    if (!indices || indices.length === 0) throw invalid('EMPTY_INPUT', 'indices', 'at least one index', '0');
    const { length: N, size: S } = this;
    const B = indices.length;
    const img = new Float32Array(B * S * S);
    const tg = new Float32Array(B * 10);
    for (let b = 0; b < B; b++) {
      const i = checkNumber(indices[b], `indices[${b}]`, { min: 0, max: N - 1, integer: true });
      img.set(this.pixels.subarray(i * S * S, (i + 1) * S * S), b * S * S);
      tg.set(this.targets.subarray(i * 10, (i + 1) * 10), b * 10);
    }
    return { images: tf.tensor4d(img, [B, S, S, 1]), targets: tf.tensor2d(tg, [B, 10]) };
  }
}
