import { checkNumber, invalid, Rng } from '@distillery/tensor';

/** Per-sample meta information (MetaFormer spatio-temporal priors); null fields are missing. */
export interface MetaInformation {
  /** 1 … 12 */
  month: number | null;
  /** 0 … 23 */
  hour: number | null;
  /** degrees, −90 … 90 */
  latitude: number | null;
  /** degrees, −180 … 180 */
  longitude: number | null;
}

/**
 * Synthetic date/location meta information correlated with the class: class c has a preferred month, hour and
 * location (drawn from the seed); each sample perturbs them (month ± N(0, 1.5), hour ± N(0, 3), location ± N(0, 5°)).
 * `missingRate` blanks the date (month and hour) or the location independently, as in iNat/CUB meta data.
 */
export function metaInformation(
  labels: ArrayLike<number>,
  options: { seed?: number; missingRate?: number } = {},
): MetaInformation[] {
  const rng = new Rng(checkNumber(options.seed ?? 0, 'options.seed', { integer: true }));
  const missing = checkNumber(options.missingRate ?? 0, 'options.missingRate', { min: 0, max: 1 });
  const prefs = new Map<number, { month: number; hour: number; lat: number; lon: number }>();
  const pref = (c: number) => {
    let p = prefs.get(c);
    if (!p) {
      const r = new Rng(`${options.seed ?? 0}:class:${c}`);
      p = { month: r.uniform(1, 13), hour: r.uniform(0, 24), lat: r.uniform(-60, 70), lon: r.uniform(-180, 180) };
      prefs.set(c, p);
    }
    return p;
  };
  const wrap = (v: number, lo: number, period: number) => ((((v - lo) % period) + period) % period) + lo;
  return Array.from({ length: labels.length }, (_, i) => {
    const c = labels[i] as number;
    if (!Number.isInteger(c) || c < 0) throw invalid('OUT_OF_RANGE', `labels[${i}]`, 'a label >= 0', String(c));
    const p = pref(c);
    const dateMissing = rng.uniform() < missing;
    const placeMissing = rng.uniform() < missing;
    const month = Math.floor(wrap(p.month + rng.normal(0, 1.5), 1, 12));
    const hour = Math.floor(wrap(p.hour + rng.normal(0, 3), 0, 24));
    const latitude = Math.max(-90, Math.min(90, p.lat + rng.normal(0, 5)));
    const longitude = wrap(p.lon + rng.normal(0, 5), -180, 360);
    return {
      month: dateMissing ? null : month,
      hour: dateMissing ? null : hour,
      latitude: placeMissing ? null : latitude,
      longitude: placeMissing ? null : longitude,
    };
  });
}

/**
 * MetaFormer's spatio-temporal encoding (Diao et al., arXiv 2203.02751; dqshuai/MetaFormer data/dataset_fg.py
 * get_temporal_info/get_spatial_info @669bf18): [sin(2π·m/12), cos(2π·m/12), sin(2π·h/24), cos(2π·h/24)] ++ [cos φ cos λ, cos φ sin λ, sin φ]. The hour
 * terms are 0 without an hour, all temporal terms 0 without a date, the spatial terms 0 without a location.
 * Returns N·7 values (meta_dims [4, 3]).
 */
export function encodeMetaInformation(meta: readonly MetaInformation[]): Float32Array {
  const out = new Float32Array(meta.length * 7);
  meta.forEach((m, i) => {
    const o = i * 7;
    if (m.month !== null) {
      out[o] = Math.sin((2 * Math.PI * m.month) / 12);
      out[o + 1] = Math.cos((2 * Math.PI * m.month) / 12);
      if (m.hour !== null) {
        out[o + 2] = Math.sin((2 * Math.PI * m.hour) / 24);
        out[o + 3] = Math.cos((2 * Math.PI * m.hour) / 24);
      }
    }
    if (m.latitude !== null && m.longitude !== null) {
      const phi = (m.latitude * Math.PI) / 180;
      const lambda = (m.longitude * Math.PI) / 180;
      out[o + 4] = Math.cos(phi) * Math.cos(lambda);
      out[o + 5] = Math.cos(phi) * Math.sin(lambda);
      out[o + 6] = Math.sin(phi);
    }
  });
  return out;
}
