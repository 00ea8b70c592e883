import { checkNumber, checkOptions, describeValue, invalid, Rng } from '@distillery/tensor';
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
  const N = checkNumber(opts.numImages ?? 500, 'options.numImages', { min: 1, integer: true });
  const grid = checkNumber(opts.grid ?? 2, 'options.grid', { min: 1, integer: true });
  const cells = grid * grid;
  const scenes = opts.scenes ?? DIGIT_SCENES;
  if (!Array.isArray(scenes) || scenes.length < 1) {
    throw invalid('INVALID_ARGUMENT', 'options.scenes', 'a non-empty list of digit lists', describeValue(scenes));
  }
  for (const [s, scene] of scenes.entries()) {
    if (!Array.isArray(scene) || scene.length < 1) {
      throw invalid('INVALID_ARGUMENT', `options.scenes[${s}]`, 'a non-empty list of digits', describeValue(scene));
    }
    for (const [j, d] of scene.entries())
      checkNumber(d, `options.scenes[${s}][${j}]`, { min: 0, max: 9, integer: true });
    if (new Set(scene).size !== scene.length) {
      throw invalid('INVALID_ARGUMENT', `options.scenes[${s}]`, 'distinct digits', describeValue(scene));
    }
  }
  const smallest = Math.min(...scenes.map((s) => s.length));
  const lo = checkNumber(opts.minDigits ?? 2, 'options.minDigits', {
    min: 1,
    max: Math.min(cells, smallest),
    integer: true,
  });
  const hi = checkNumber(opts.maxDigits ?? Math.min(3, cells, smallest), 'options.maxDigits', {
    min: lo,
    max: Math.min(cells, smallest),
    integer: true,
  });
  const noise = checkNumber(opts.noise ?? 0.1, 'options.noise', { min: 0, max: 1 });
  const rng = new Rng(checkNumber(opts.seed ?? 0, 'options.seed', { integer: true }));
  const digits = loadDigits({ scale: 1 });
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < digits.length; i++) byClass[digits.label(i)]!.push(i);
  const canvas = new DigitCanvas(digits, N, grid);
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
    classNames: digits.classNames,
    targets: canvas.targets,
    slots: canvas.slots,
    scenes: scenes.map((s) => [...s]),
    sceneOf,
    batch: (indices) => canvas.batch(indices),
  };
}
