import { checkNumber, checkOptions, invalid, tf } from '@distillery/tensor';
import type { Batch, ImageDataset, Sample } from './dataset';

export interface InMemoryDatasetOptions {
  /** Pixels of all images, N·H·W·C values in NHWC order (uint8 or float). */
  pixels: Uint8Array | Float32Array | number[];
  labels: ArrayLike<number>;
  /** [H, W, C]. */
  imageShape: readonly [number, number, number];
  /** Class names; defaults to '0' … 'C−1' with C = max(label) + 1. */
  classNames?: readonly string[];
  /** Multiplies pixel values when tensors are made (e.g. 1/255 for uint8 images; default 1). */
  scale?: number;
}

/**
 * An `ImageDataset` over pixels held in memory (compact: uint8 pixels stay uint8 until a batch is made). Batches
 * are built on the host and uploaded once, so `batch` costs one tensor upload regardless of the batch size.
 */
export class InMemoryDataset implements ImageDataset {
  readonly length: number;
  readonly imageShape: readonly [number, number, number];
  readonly classNames: readonly string[];
  private readonly pixels: Uint8Array | Float32Array;
  private readonly labelArray: Int32Array;
  private readonly scale: number;
  private readonly imageSize: number;

  constructor(options: InMemoryDatasetOptions) {
    checkOptions<InMemoryDatasetOptions>(options ?? null, {
      pixels: true,
      labels: true,
      imageShape: true,
      classNames: true,
      scale: true,
    });
    const shape = options?.imageShape;
    if (!Array.isArray(shape) || shape.length !== 3) {
      throw invalid('INVALID_ARGUMENT', 'options.imageShape', '[H, W, C]', String(shape));
    }
    shape.forEach((d, i) => {
      checkNumber(d, `options.imageShape[${i}]`, { min: 1, integer: true });
    });
    this.imageShape = [shape[0], shape[1], shape[2]];
    this.imageSize = shape[0] * shape[1] * shape[2];
    const labels = options.labels;
    if (!labels || typeof labels.length !== 'number') {
      throw invalid('INVALID_ARGUMENT', 'options.labels', 'an array of labels', String(labels));
    }
    this.length = labels.length;
    this.labelArray = Int32Array.from(labels, (y, i) => {
      if (!Number.isInteger(y) || y < 0)
        throw invalid('OUT_OF_RANGE', `options.labels[${i}]`, 'a label >= 0', String(y));
      return y;
    });
    const px = options.pixels;
    this.pixels = px instanceof Uint8Array || px instanceof Float32Array ? px : Float32Array.from(px);
    if (this.pixels.length !== this.length * this.imageSize) {
      throw invalid(
        'SHAPE_MISMATCH',
        'options.pixels',
        `${this.length}·${this.imageSize} = ${this.length * this.imageSize} values`,
        String(this.pixels.length),
      );
    }
    let C = 0;
    for (const y of this.labelArray) if (y + 1 > C) C = y + 1;
    this.classNames = options.classNames ? options.classNames.slice() : Array.from({ length: C }, (_, c) => String(c));
    if (this.classNames.length < C) {
      throw invalid('SHAPE_MISMATCH', 'options.classNames', `at least ${C} names`, String(this.classNames.length));
    }
    this.scale = checkNumber(options.scale ?? 1, 'options.scale');
  }

  private check(index: number, argument = 'index'): number {
    return checkNumber(index, argument, { min: 0, max: this.length - 1, integer: true });
  }

  label(index: number): number {
    return this.labelArray[this.check(index)]!;
  }

  labels(): Int32Array {
    return this.labelArray.slice();
  }

  classCounts(): number[] {
    const counts = new Array<number>(this.classNames.length).fill(0);
    for (const y of this.labelArray) counts[y]!++;
    return counts;
  }

  /** Raw pixel values of one image (a view, unscaled). */
  rawImage(index: number): Uint8Array | Float32Array {
    const i = this.check(index);
    return this.pixels.subarray(i * this.imageSize, (i + 1) * this.imageSize);
  }

  /** Pixel values of one image as `batch` gives them (scaled), in a new array. */
  scaledImage(index: number): Float32Array {
    return Float32Array.from(this.rawImage(index), (v) => v * this.scale);
  }

  get(index: number): Sample {
    const i = this.check(index);
    const values = this.scaledImage(i);
    return { image: tf.tensor3d(values, [...this.imageShape], 'float32'), label: this.labelArray[i]! };
  }

  batch(indices: ArrayLike<number>): Batch {
    if (!indices || indices.length === 0) throw invalid('EMPTY_INPUT', 'indices', 'at least one index', '0');
    const B = indices.length;
    const values = new Float32Array(B * this.imageSize);
    const labels = new Int32Array(B);
    for (let k = 0; k < B; k++) {
      const i = this.check(indices[k] as number, `indices[${k}]`);
      const src = this.pixels.subarray(i * this.imageSize, (i + 1) * this.imageSize);
      const off = k * this.imageSize;
      for (let j = 0; j < this.imageSize; j++) values[off + j] = (src[j] as number) * this.scale;
      labels[k] = this.labelArray[i]!;
    }
    return {
      images: tf.tensor4d(values, [B, ...this.imageShape], 'float32'),
      labels: tf.tensor1d(labels, 'int32'),
    };
  }

  /** A dataset over the samples at `indices` (shares the pixel buffer when the indices are contiguous). */
  subset(indices: ArrayLike<number>): InMemoryDataset {
    const n = indices.length;
    const px = new (this.pixels.constructor as typeof Uint8Array | typeof Float32Array)(n * this.imageSize);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = this.check(indices[k] as number, `indices[${k}]`);
      px.set(this.rawImage(i), k * this.imageSize);
      labels[k] = this.labelArray[i]!;
    }
    return new InMemoryDataset({
      pixels: px,
      labels,
      imageShape: this.imageShape,
      classNames: this.classNames,
      scale: this.scale,
    });
  }
}
