import {
  checkOptions,
  DistilleryError,
  formatShape,
  invalid,
  parseSafetensors,
  readSafetensorsFile,
} from '@distillery/tensor';
import { type LoadReport, type StateDict, safetensorsToStateDict } from '../core/module';
import { resamplePosEmbedValues } from './pos-embed';
import type { VisionTransformer } from './vision-transformer';

export interface LoadViTWeightsOptions {
  /** Missing or unexpected tensors throw (default true); mis-shaped ones always throw. */
  strict?: boolean;
  /**
   * Resample `pos_embed` when the checkpoint's patch grid differs from the model's (timm `resample_abs_pos_embed`,
   * bicubic). Default false: a different grid is an error that says so.
   */
  resamplePosEmbed?: boolean;
  /** The checkpoint's patch grid [H, W] when it is not square. */
  oldGridSize?: [number, number];
  /** Antialiased bicubic (timm's default, true) or plain bicubic (false). */
  antialias?: boolean;
}

export interface LoadViTReport extends LoadReport {
  /** The grids `pos_embed` was resampled between, when it was. */
  resampled?: { from: [number, number]; to: [number, number] };
}

/**
 * Loads a timm / DeiT checkpoint into a `VisionTransformer`, from a safetensors path (Node), its bytes, or a state
 * dict. When the checkpoint was trained at another image size or patch grid (its `pos_embed` has another token
 * count), `resamplePosEmbed: true` resamples the grid part of the embedding to the model's
 * (imageSize / patchSize)² grid as timm's `checkpoint_filter_fn` does (timm models/vision_transformer.py, with
 * timm/layers/pos_embed.py `resample_abs_pos_embed` @170a5b6: prefix tokens kept, bicubic, antialias true by
 * default); without it the mismatch is a DistilleryError naming `pos_embed` and the option. Every other tensor must
 * match (a different patch size also changes `patch_embed.proj.weight`, which is not resampled).
 */
export async function loadViTWeights(
  model: VisionTransformer,
  source: string | Uint8Array | ArrayBuffer | StateDict,
  options: LoadViTWeightsOptions = {},
): Promise<LoadViTReport> {
  const o = checkOptions<LoadViTWeightsOptions>(options, {
    strict: true,
    resamplePosEmbed: true,
    oldGridSize: true,
    antialias: true,
  });
  const state =
    typeof source === 'string'
      ? safetensorsToStateDict(await readSafetensorsFile(source))
      : source instanceof Uint8Array || source instanceof ArrayBuffer
        ? safetensorsToStateDict(parseSafetensors(source))
        : source;
  if (state === null || typeof state !== 'object' || Array.isArray(state) || ArrayBuffer.isView(state)) {
    throw invalid(
      'INVALID_ARGUMENT',
      'source',
      'a safetensors path, its bytes (Uint8Array or ArrayBuffer) or a state dict',
      String(source),
    );
  }
  return loadViTStateDict(model, state, o);
}

/** `loadViTWeights` for a state dict already in memory (synchronous). */
export function loadViTStateDict(
  model: VisionTransformer,
  state: StateDict,
  options: LoadViTWeightsOptions = {},
): LoadViTReport {
  const o = checkOptions<LoadViTWeightsOptions>(options, {
    strict: true,
    resamplePosEmbed: true,
    oldGridSize: true,
    antialias: true,
  });
  const given = state.pos_embed;
  const expected = model.posEmbed.shape;
  const prefix = model.numPrefixTokens;
  const side = model.config.imageSize / model.config.patchSize;
  let resampled: LoadViTReport['resampled'];
  let input = state;
  if (given && (given.shape.length !== 3 || given.shape.some((d, i) => d !== expected[i]))) {
    const [, n, d] = given.shape as [number, number, number];
    const gridTokens = n - prefix;
    const oldSide = Math.sqrt(gridTokens);
    const oldGrid: [number, number] = o.oldGridSize ?? [oldSide, oldSide];
    const describe =
      Number.isInteger(oldSide) || o.oldGridSize ? `a ${oldGrid[0]}×${oldGrid[1]} grid` : `${gridTokens} grid tokens`;
    if (given.shape.length !== 3 || given.shape[0] !== 1 || d !== expected[2]) {
      throw new DistilleryError(
        'SHAPE_MISMATCH',
        `pos_embed: the checkpoint's ${formatShape(given.shape)} does not fit the model's ${formatShape(expected)} (the embedding width differs; it cannot be resampled)`,
        { argument: 'pos_embed', expected: formatShape(expected), actual: formatShape(given.shape) },
      );
    }
    if (!o.resamplePosEmbed) {
      throw new DistilleryError(
        'SHAPE_MISMATCH',
        `pos_embed: the checkpoint has ${describe} of patches (${formatShape(given.shape)}), the model ${side}×${side} (imageSize ${model.config.imageSize} / patchSize ${model.config.patchSize}, ${formatShape(expected)}); pass { resamplePosEmbed: true } to resample it bicubically as timm does`,
        { argument: 'pos_embed', expected: formatShape(expected), actual: formatShape(given.shape) },
      );
    }
    const data = resamplePosEmbedValues(given.data, given.shape, [side, side], {
      oldSize: o.oldGridSize,
      numPrefixTokens: prefix,
      antialias: o.antialias ?? true,
    });
    resampled = { from: o.oldGridSize ?? [oldSide, oldSide], to: [side, side] };
    input = { ...state, pos_embed: { shape: [...expected], data } };
  }
  const report: LoadViTReport = model.loadStateDict(input, { strict: o.strict ?? true });
  if (resampled) report.resampled = resampled;
  return report;
}
