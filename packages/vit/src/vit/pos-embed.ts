import { assertRank, checkNumber, checkOptions, formatShape, invalid, tf } from '@distillery/tensor';

/** One output sample of a 1-D resize: the input indices it reads and their weights. */
interface Taps {
  index: number[];
  weight: number[];
}

/** Keys' cubic convolution kernel with parameter a (|x| < 1 and 1 ≤ |x| < 2 branches). */
function cubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/**
 * Taps of torch's `upsample_bicubic2d` along one axis (align_corners=False): source x = scale·(i + 0.5) − 0.5 with
 * scale = in/out, the four neighbours floor(x) − 1 … floor(x) + 2 clamped to the border, Keys' kernel with a = −0.75
 * (aten/src/ATen/native/UpSample.h `cubic_convolution1/2`, `upsample_get_value_bounded`).
 */
function bicubicTaps(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const out: Taps[] = [];
  for (let i = 0; i < outSize; i++) {
    const real = scale * (i + 0.5) - 0.5;
    const x0 = Math.floor(real);
    const t = real - x0;
    const index: number[] = [];
    const weight: number[] = [];
    for (let k = -1; k <= 2; k++) {
      index.push(Math.min(Math.max(x0 + k, 0), inSize - 1));
      weight.push(cubic(t - k, -0.75));
    }
    out.push({ index, weight });
  }
  return out;
}

/**
 * Taps of torch's antialiased bicubic (`_upsample_bicubic2d_aa`, the PIL-style resampler): Keys' kernel with
 * a = −0.5, stretched by the downscaling factor when shrinking (support 2·max(scale, 1)), centred at scale·(i + 0.5),
 * only in-range pixels, weights normalised to sum 1 (aten/src/ATen/native/cpu/UpSampleKernel.cpp
 * `_compute_indices_weights_aa`).
 */
function antialiasTaps(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const out: Taps[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const index: number[] = [];
    const weight: number[] = [];
    let total = 0;
    for (let j = xmin; j < xmax; j++) {
      const w = cubic((j - center + 0.5) * invScale, -0.5);
      index.push(j);
      weight.push(w);
      total += w;
    }
    for (let k = 0; k < weight.length; k++) weight[k] = total !== 0 ? weight[k]! / total : 0;
    out.push({ index, weight });
  }
  return out;
}

/**
 * Bicubic resize of an HWC grid (row-major [H, W, C] values) to [newH, newW, C], computed in float64 and returned as
 * float32: `torch.nn.functional.interpolate(x, size, mode='bicubic', align_corners=False, antialias)` on the
 * equivalent NCHW tensor. Separable: rows (W) first, then columns (H).
 */
export function bicubicResizeHWC(
  values: ArrayLike<number>,
  size: readonly [number, number],
  channels: number,
  newSize: readonly [number, number],
  antialias: boolean,
): Float32Array {
  const [h, w] = size;
  const [nh, nw] = newSize;
  const taps = antialias ? antialiasTaps : bicubicTaps;
  const tw = taps(w, nw);
  const th = taps(h, nh);
  const rows = new Float64Array(h * nw * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < nw; x++) {
      const { index, weight } = tw[x]!;
      const o = (y * nw + x) * channels;
      for (let k = 0; k < index.length; k++) {
        const src = (y * w + index[k]!) * channels;
        const wk = weight[k]!;
        for (let c = 0; c < channels; c++) rows[o + c]! += wk * values[src + c]!;
      }
    }
  }
  const out = new Float32Array(nh * nw * channels);
  const acc = new Float64Array(channels);
  for (let y = 0; y < nh; y++) {
    const { index, weight } = th[y]!;
    for (let x = 0; x < nw; x++) {
      acc.fill(0);
      for (let k = 0; k < index.length; k++) {
        const src = (index[k]! * nw + x) * channels;
        const wk = weight[k]!;
        for (let c = 0; c < channels; c++) acc[c]! += wk * rows[src + c]!;
      }
      out.set(acc, (y * nw + x) * channels);
    }
  }
  return out;
}

export interface ResamplePosEmbedOptions {
  /** The checkpoint's patch grid [H, W]; default: square, √(tokens − prefix). */
  oldSize?: [number, number];
  /** Prefix tokens kept as they are: 1 (cls, ViT), 2 (cls + dist, DeiT distilled), 0. Default 1. */
  numPrefixTokens?: number;
  /**
   * F.interpolate's `antialias`. Default true, timm's default in `resample_abs_pos_embed` and in its ViT
   * `checkpoint_filter_fn`; false gives plain bicubic (a = −0.75), what older timm `resize_pos_embed` used.
   */
  antialias?: boolean;
}

function checkGrid(value: unknown, argument: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw invalid('INVALID_ARGUMENT', argument, 'a grid size [H, W] of two positive integers', String(value));
  }
  checkNumber(value[0], `${argument}[0]`, { min: 1, integer: true });
  checkNumber(value[1], `${argument}[1]`, { min: 1, integer: true });
  return [value[0], value[1]];
}

/**
 * Resampling of the position-embedding values (PyTorch layout [1, N, D] as a flat array) to a new patch grid; the
 * array form of `resampleAbsPosEmbed`, used by `loadViTWeights`. Returns the values [1, prefix + newH·newW, D].
 */
export function resamplePosEmbedValues(
  values: ArrayLike<number>,
  shape: readonly number[],
  newSize: [number, number],
  options: ResamplePosEmbedOptions = {},
): Float32Array {
  const o = checkOptions<ResamplePosEmbedOptions>(options, { oldSize: true, numPrefixTokens: true, antialias: true });
  const prefix = o.numPrefixTokens ?? 1;
  checkNumber(prefix, 'options.numPrefixTokens', { min: 0, integer: true });
  const target = checkGrid(newSize, 'newSize');
  if (shape.length !== 3 || shape[0] !== 1 || shape[1]! <= prefix) {
    throw invalid('SHAPE_MISMATCH', 'posEmbed', `[1, ${prefix} + H·W, D]`, `shape ${formatShape(shape)}`);
  }
  const [, n, d] = shape as [number, number, number];
  const gridTokens = n - prefix;
  let old: [number, number];
  if (o.oldSize !== undefined) old = checkGrid(o.oldSize, 'options.oldSize');
  else {
    const side = Math.round(Math.sqrt(gridTokens));
    if (side * side !== gridTokens) {
      throw invalid(
        'SHAPE_MISMATCH',
        'posEmbed',
        `a square grid after ${prefix} prefix token(s) (or pass options.oldSize)`,
        `${gridTokens} grid tokens`,
      );
    }
    old = [side, side];
  }
  if (old[0] * old[1] !== gridTokens) {
    throw invalid('SHAPE_MISMATCH', 'options.oldSize', `H·W = ${gridTokens} grid tokens`, `[${old.join(', ')}]`);
  }
  if (values.length !== n * d) {
    throw invalid('SHAPE_MISMATCH', 'posEmbed', `${n * d} values for ${formatShape(shape)}`, `${values.length}`);
  }
  const out = new Float32Array((prefix + target[0] * target[1]) * d);
  for (let i = 0; i < prefix * d; i++) out[i] = values[i]!;
  const grid = Array.prototype.slice.call(values, prefix * d) as number[];
  out.set(bicubicResizeHWC(grid, old, d, target, o.antialias ?? true), prefix * d);
  return out;
}

/**
 * timm `resample_abs_pos_embed` (huggingface/pytorch-image-models timm/layers/pos_embed.py @170a5b6): keeps the
 * `numPrefixTokens` prefix embeddings and resizes the [H, W] grid of the rest to `newSize` with bicubic
 * interpolation (align_corners=False; `antialias` default true as in timm), so a ViT/DeiT trained at one image size
 * (or patch grid) can run at another. `posEmbed` is [1, N, D]; returns a new [1, prefix + newH·newW, D] tensor.
 * Computed on the host in float64 (a one-off at load time).
 */
export function resampleAbsPosEmbed(
  posEmbed: tf.Tensor,
  newSize: [number, number],
  options: ResamplePosEmbedOptions = {},
): tf.Tensor3D {
  const t = assertRank(posEmbed, 3, 'posEmbed');
  const values = resamplePosEmbedValues(t.dataSync(), t.shape, newSize, options);
  const prefix = options.numPrefixTokens ?? 1;
  return tf.tensor3d(values, [1, prefix + newSize[0] * newSize[1], t.shape[2]!]);
}
