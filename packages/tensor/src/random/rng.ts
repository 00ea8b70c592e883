import { checkNumber, invalid } from '../errors';

/** Serialisable generator state, for checkpoints: restoring it continues the exact same stream. */
export interface RngState {
  algorithm: 'xoshiro128**';
  s: [number, number, number, number];
  /** The second Box–Muller normal, kept so that restoring mid-pair is exact. */
  spareNormal: number | null;
}

/** splitmix32: spreads one 32-bit seed into well-mixed state words. */
function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A seeded pseudo-random generator (xoshiro128**, Blackman & Vigna) in plain JavaScript, so the same seed gives
 * the same numbers on every backend and in every runtime. Tensor helpers (`randomUniform`, `randomNormal`) draw
 * from it on the host and upload the values.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed: number | string = 0) {
    const numeric = typeof seed === 'string' ? hashString(seed) : checkNumber(seed, 'seed', { integer: true });
    const next = splitmix32((numeric >>> 0) ^ Math.floor(numeric / 2 ** 32));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  state(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spare };
  }

  /**
   * Rewinds (or forwards) this generator in place to a saved `state()`: everyone holding it continues that stream
   * (e.g. SAM's second pass repeats the first pass's random draws).
   */
  setState(state: RngState): void {
    const words = state?.s;
    if (
      state?.algorithm !== 'xoshiro128**' ||
      !Array.isArray(words) ||
      words.length !== 4 ||
      !words.every((w) => Number.isInteger(w)) ||
      !(state.spareNormal === null || state.spareNormal === undefined || Number.isFinite(state.spareNormal))
    ) {
      throw invalid(
        'INVALID_ARGUMENT',
        'state',
        "an RngState { algorithm: 'xoshiro128**', s: [4 integer words], spareNormal: number | null }",
        JSON.stringify(state),
      );
    }
    [this.s0, this.s1, this.s2, this.s3] = words.map((w) => w >>> 0) as [number, number, number, number];
    this.spare = state.spareNormal ?? null;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits; `uniform(a, b)` in [a, b). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * (this.nextUint32() / 4294967296);
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    checkNumber(n, 'n', { min: 1, integer: true });
    if (n > 4294967296) throw invalid('OUT_OF_RANGE', 'n', 'n <= 2^32', String(n));
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard normal (Box–Muller), scaled to `mean`, `std`. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** true with probability p. */
  bernoulli(p: number): boolean {
    checkNumber(p, 'p', { min: 0, max: 1 });
    return this.uniform() < p;
  }

  /** Gamma(shape, 1) by Marsaglia & Tsang (boosted for shape < 1). */
  gamma(shape: number): number {
    checkNumber(shape, 'shape', { min: 0, minExclusive: true });
    if (shape < 1) return this.gamma(shape + 1) * this.uniform() ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x = 0;
      let v = 0;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b), e.g. the mixup/cutmix λ. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0 … n−1. */
  permutation(n: number): Int32Array {
    checkNumber(n, 'n', { min: 0, integer: true });
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i] as number;
      out[i] = out[j] as number;
      out[j] = tmp;
    }
    return out;
  }

  /** An independent generator seeded from this one (for per-worker or per-epoch streams). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function createRng(seed: number | string = 0): Rng {
  return new Rng(seed);
}
