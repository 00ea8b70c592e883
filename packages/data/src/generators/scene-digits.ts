import { checkNumber, checkOptions, describeValue, invalid, Rng } from '@distillery/tensor';
import { InMemoryDataset } from '../dataset/in-memory-dataset';
import { loadDigits } from '../digits/load-digits';
import type { MultiLabelDataset } from './composed-digits';
import { DigitCanvas } from './digit-canvas';

/**
 * The default scenes of `sceneDigits`: which digits "go together". Overlapping on purpose (3 and 8 belong to two
 * scenes each), so the co-occurrence graph is connected but clustered.
 */
export const DIGIT_SCENES: readonly (readonly number[])[] = [
  [0, 6, 8],
  [1, 4, 7],
  [2, 3, 5],
  [3, 8, 9],
];

export interface SceneDigitsOptions {
  /** Images, default 500. */
  numImages?: number;
  /** Digits per image, at least (default 2) … */
  minDigits?: number;
  /** … and at most (default 3; at most grid², and at most the smallest scene's size). */
  maxDigits?: number;
  /** Cells per side of the canvas (8×8 pixels each), default 2. */
  grid?: number;
  /** Scenes: lists of digit classes 0–9 that appear together, default `DIGIT_SCENES`. */
  scenes?: readonly (readonly number[])[];
  /** Probability that one digit of an image is replaced by a digit from outside its scene, default 0.1. */
  noise?: number;
  /** Seed, default 0. */
  seed?: number;
}

export interface SceneDigitsDataset extends MultiLabelDataset {
  /** The scenes used. */
  readonly scenes: readonly (readonly number[])[];
  /** The scene of each image, N values. */
  readonly sceneOf: Int32Array;
}

/**
 * Multi-label composed digits **with label co-occurrence**: each image first draws a scene uniformly (a set of
 * digit classes that go together, like "fork, knife, plate" in a photo), then `minDigits`…`maxDigits` distinct
 * digits of that scene, each a random UCI digit image in its own cell of a grid×grid canvas (default 2×2 → 16×16×1,
 * pixels in [0, 1]); with probability `noise` one of them is swapped for a digit outside the scene. The target is
 * the multi-hot set of the digits present (10 classes), so labels of a scene co-occur far more often than chance,
 * which a label-to-label prior (SCPNet) can exploit. Seeded.
 */
export function sceneDigits(options?: SceneDigitsOptions): SceneDigitsDataset {
  const opts = checkOptions<SceneDigitsOptions>(options, {
    numImages: true,
    minDigits: true,
    maxDigits: true,
    grid: true,
    scenes: true,
    noise: true,
    seed: true,
  });
  const { minDigits, maxDigits, scenes, ...rest } = opts;
  return paintScenes(loadDigits({ scale: 1 / 16 }), {
    ...{ ...rest, minItems: minDigits, maxItems: maxDigits, scenes: scenes ?? DIGIT_SCENES, cellSize: 8 },
    names: { min: 'options.minDigits', max: 'options.maxDigits', item: 'digit' },
  });
}

export interface SceneImagesOptions {
  /** Scenes: lists of classes 0–9 that appear together (required). */
  scenes: readonly (readonly number[])[];
  /** Images, default 500. */
  numImages?: number;
  /** Items per image, at least (default 2) … */
  minItems?: number;
  /** … and at most (default 3; at most grid², and at most the smallest scene's size). */
  maxItems?: number;
  /** Cells per side of the canvas, default 2. */
  grid?: number;
  /** Side of a cell in pixels: the items' side, or a divisor of it (items are box-averaged down), default theirs. */
  cellSize?: number;
  /** Probability that one item of an image is replaced by one from outside its scene, default 0.1. */
  noise?: number;
  /** Seed, default 0. */
  seed?: number;
}

/**
 * `sceneDigits` with other items: each image draws a scene, then `minItems`…`maxItems` distinct classes of it, each a
 * random image of `items` (a 10-class, square, one-channel dataset such as Fashion-MNIST; pixels as the dataset
 * scales them) in its own cell, box-averaged down to `cellSize`. Fashion-MNIST with `FASHION_SCENES` and cell 14
 * gives 28×28 outfits: a top, trousers and sneakers go together.
 *
 *     const scenes = sceneImages(await loadFashionMnist({ split: 'train' }), { scenes: FASHION_SCENES, cellSize: 14 });
 */
export function sceneImages(items: InMemoryDataset, options: SceneImagesOptions): SceneDigitsDataset {
  const opts = checkOptions<SceneImagesOptions>(options ?? null, {
    scenes: true,
    numImages: true,
    minItems: true,
    maxItems: true,
    grid: true,
    cellSize: true,
    noise: true,
    seed: true,
  });
  if (!(items instanceof InMemoryDataset)) {
    throw invalid('INVALID_ARGUMENT', 'items', 'an InMemoryDataset (e.g. loadFashionMnist)', describeValue(items));
  }
  const [h, w, c] = items.imageShape;
  if (h !== w || c !== 1 || items.classNames.length !== 10) {
    throw invalid(
      'INVALID_ARGUMENT',
      'items',
      'square one-channel images of 10 classes',
      `${h}×${w}×${c} images of ${items.classNames.length} classes`,
    );
  }
  if (opts.scenes === undefined) throw invalid('INVALID_ARGUMENT', 'options.scenes', 'a list of scenes', 'none');
  return paintScenes(items, { ...opts, names: { min: 'options.minItems', max: 'options.maxItems', item: 'class' } });
}

/** The 10 Fashion-MNIST classes grouped into outfits that go together (overlapping: trousers, bags, boots, sandals). */
export const FASHION_SCENES: readonly (readonly number[])[] = [
  [0, 1, 7], // T-shirt/top, trouser, sneaker
  [0, 5, 8], // T-shirt/top, sandal, bag
  [3, 5, 8], // dress, sandal, bag
  [2, 4, 9], // pullover, coat, ankle boot
  [6, 1, 9], // shirt, trouser, ankle boot
];

function paintScenes(
  items: InMemoryDataset,
  opts: Omit<SceneImagesOptions, 'minItems' | 'maxItems'> & {
    minItems?: number | undefined;
    maxItems?: number | undefined;
    names: { min: string; max: string; item: string };
  },
): SceneDigitsDataset {
  const { names } = opts;
  const N = checkNumber(opts.numImages ?? 500, 'options.numImages', { min: 1, integer: true });
  const grid = checkNumber(opts.grid ?? 2, 'options.grid', { min: 1, integer: true });
  const cells = grid * grid;
  const scenes = opts.scenes;
  if (!Array.isArray(scenes) || scenes.length < 1) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.scenes',
      `a non-empty list of ${names.item} lists`,
      describeValue(scenes),
    );
  }
  for (const [s, scene] of scenes.entries()) {
    if (!Array.isArray(scene) || scene.length < 1) {
      throw invalid(
        'INVALID_ARGUMENT',
        `options.scenes[${s}]`,
        `a non-empty list of ${names.item}s`,
        describeValue(scene),
      );
    }
    for (const [j, d] of scene.entries())
      checkNumber(d, `options.scenes[${s}][${j}]`, { min: 0, max: 9, integer: true });
    if (new Set(scene).size !== scene.length) {
      throw invalid('INVALID_ARGUMENT', `options.scenes[${s}]`, `distinct ${names.item}s`, describeValue(scene));
    }
  }
  const smallest = Math.min(...scenes.map((s) => s.length));
  const lo = checkNumber(opts.minItems ?? 2, names.min, { min: 1, max: Math.min(cells, smallest), integer: true });
  const hi = checkNumber(opts.maxItems ?? Math.min(3, cells, smallest), names.max, {
    min: lo,
    max: Math.min(cells, smallest),
    integer: true,
  });
  const noise = checkNumber(opts.noise ?? 0.1, 'options.noise', { min: 0, max: 1 });
  const rng = new Rng(checkNumber(opts.seed ?? 0, 'options.seed', { integer: true }));
  const side = items.imageShape[0];
  const cell = checkNumber(opts.cellSize ?? side, 'options.cellSize', { min: 1, max: side, integer: true });
  if (side % cell !== 0) {
    throw invalid('INVALID_ARGUMENT', 'options.cellSize', `a divisor of the items' side ${side}`, `${cell}`);
  }
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < items.length; i++) byClass[items.label(i)]!.push(i);
  for (const scene of scenes) {
    for (const k of scene) {
      if (byClass[k]!.length === 0) throw invalid('INVALID_ARGUMENT', 'items', `images of class ${k}`, 'none');
    }
  }
  const canvas = new DigitCanvas(items, N, grid, (d) => boxAverage(items, d, side / cell), cell);
  const sceneOf = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const s = rng.int(scenes.length);
    sceneOf[n] = s;
    const scene = scenes[s]!;
    const k = lo + rng.int(hi - lo + 1);
    const pick = rng.permutation(scene.length);
    const labels = Array.from({ length: k }, (_, j) => scene[pick[j]!]!);
    if (rng.uniform() < noise) {
      const outside = Array.from({ length: 10 }, (_, d) => d).filter((d) => !scene.includes(d));
      if (outside.length > 0) labels[rng.int(k)] = outside[rng.int(outside.length)]!;
    }
    const order = rng.permutation(cells);
    for (let j = 0; j < k; j++) {
      const pool = byClass[labels[j]!]!;
      canvas.paint(n, order[j]!, pool[rng.int(pool.length)]!);
    }
  }
  const S = canvas.size;
  return {
    length: N,
    imageShape: [S, S, 1],
    classNames: items.classNames,
    targets: canvas.targets,
    slots: canvas.slots,
    scenes: scenes.map((s) => [...s]),
    sceneOf,
    batch: (indices) => canvas.batch(indices),
  };
}

/** Item `d`'s pixels (as its dataset scales them), averaged over f×f blocks (f = 1: as they are). */
function boxAverage(items: InMemoryDataset, d: number, f: number): Float32Array {
  const side = items.imageShape[0];
  const image = items.scaledImage(d);
  if (f === 1) return image;
  const out = new Float32Array((side / f) ** 2);
  const c = side / f;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) out[Math.floor(y / f) * c + Math.floor(x / f)]! += image[y * side + x]!;
  for (let i = 0; i < out.length; i++) out[i]! /= f * f;
  return out;
}
