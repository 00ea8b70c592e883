// From the package root, not '@distillery/tensor/errors': one DistilleryError class for `instanceof` checks.
import { checkNumber, checkOptions, invalid } from '@distillery/tensor';

export interface SpatioTemporalInput {
  /** Month 1–12; omit (or null) when the date is missing. */
  month?: number | null;
  /** Hour 0–23; omit when the time is missing. */
  hour?: number | null;
  /** Latitude and longitude in degrees; omit when missing. */
  latitude?: number | null;
  longitude?: number | null;
}

export interface SpatioTemporalOptions {
  /**
   * The reference tests `if latitude and longitude:`, so a coordinate of exactly 0 counts as missing and zeroes
   * the spatial part. true (default) keeps that quirk; false treats 0 as a real coordinate.
   */
  zeroCoordinateIsMissing?: boolean;
}

/**
 * MetaFormer temporal encoding (dqshuai/MetaFormer data/dataset_fg.py `get_temporal_info`):
 * [sin(2π·month/12), cos(2π·month/12), sin(2π·hour/24), cos(2π·hour/24)]; the hour terms are 0 when the hour is
 * missing, and all four are 0 when the date (month) is missing.
 */
export function encodeTemporal(month?: number | null, hour?: number | null): [number, number, number, number] {
  if (month === undefined || month === null) return [0, 0, 0, 0];
  checkNumber(month, 'month', { min: 1, max: 12, integer: true });
  const m = (2 * Math.PI * month) / 12;
  if (hour === undefined || hour === null) return [Math.sin(m), Math.cos(m), 0, 0];
  checkNumber(hour, 'hour', { min: 0, max: 23, integer: true });
  const h = (2 * Math.PI * hour) / 24;
  return [Math.sin(m), Math.cos(m), Math.sin(h), Math.cos(h)];
}

/**
 * MetaFormer spatial encoding (`get_spatial_info`): the point on the unit sphere
 * [cos φ cos λ, cos φ sin λ, sin φ] for latitude φ and longitude λ (degrees → radians); zeros when missing.
 */
export function encodeSpatial(
  latitude?: number | null,
  longitude?: number | null,
  options: SpatioTemporalOptions = {},
): [number, number, number] {
  checkOptions<SpatioTemporalOptions>(options, { zeroCoordinateIsMissing: true });
  const zeroMissing = options.zeroCoordinateIsMissing ?? true;
  const missing = (v: number | null | undefined) => v === undefined || v === null || (zeroMissing && v === 0);
  if (missing(latitude) || missing(longitude)) return [0, 0, 0];
  checkNumber(latitude, 'latitude', { min: -90, max: 90 });
  checkNumber(longitude, 'longitude', { min: -360, max: 360 });
  const phi = ((latitude as number) * Math.PI) / 180;
  const lambda = ((longitude as number) * Math.PI) / 180;
  return [Math.cos(phi) * Math.cos(lambda), Math.cos(phi) * Math.sin(lambda), Math.sin(phi)];
}

/** The 7-wide spatio-temporal meta vector, temporal (4) ++ spatial (3), for `metaDims: [4, 3]`. */
export function encodeSpatioTemporal(input: SpatioTemporalInput, options: SpatioTemporalOptions = {}): number[] {
  if (input === null || typeof input !== 'object') {
    throw invalid('INVALID_ARGUMENT', 'input', 'an object { month, hour, latitude, longitude }', String(input));
  }
  checkOptions<SpatioTemporalInput>(input, { month: true, hour: true, latitude: true, longitude: true }, 'input');
  return [...encodeTemporal(input.month, input.hour), ...encodeSpatial(input.latitude, input.longitude, options)];
}
