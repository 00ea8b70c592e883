/**
 * Host (JavaScript) implementations of the per-sample colour ops, used on backends whose tensors live in host memory
 * (cpu, wasm), where they are one to two orders of magnitude faster than the equivalent chains of tfjs kernels. They
 * mirror the tensor implementations op for op (same formulas, same order, tf.round's half-to-even rounding); values
 * agree to float32 rounding.
 */

/** tf.round: round half to even. */
export function roundHalfEven(v: number): number {
  const base = Math.floor(v);
  const d = v - base;
  if (d < 0.5) return base;
  if (d > 0.5) return base + 1;
  return base % 2 === 0 ? base : base + 1;
}

const clip01 = (v: number) => Math.min(1, Math.max(0, v));

/** Mean ITU-R 601 grey level of image b (the raw value for grey images). */
function meanGray(x: Float32Array, b: number, n: number, C: number): number {
  let s = 0;
  const o = b * n * C;
  if (C === 1) for (let p = 0; p < n; p++) s += x[o + p]!;
  else for (let p = 0; p < n; p++) s += 0.299 * x[o + 3 * p]! + 0.587 * x[o + 3 * p + 1]! + 0.114 * x[o + 3 * p + 2]!;
  return s / n;
}

export function brightnessHost(x: Float32Array, b: number, n: number, C: number, f: number): void {
  const o = b * n * C;
  for (let i = o; i < o + n * C; i++) x[i] = clip01(x[i]! * f);
}

export function contrastHost(x: Float32Array, b: number, n: number, C: number, f: number): void {
  const m = meanGray(x, b, n, C);
  const o = b * n * C;
  for (let i = o; i < o + n * C; i++) x[i] = clip01(m + f * (x[i]! - m));
}

export function saturationHost(x: Float32Array, b: number, n: number, C: number, f: number): void {
  if (C !== 3) return;
  const o = b * n * 3;
  for (let p = 0; p < n; p++) {
    const i = o + 3 * p;
    const g = 0.299 * x[i]! + 0.587 * x[i + 1]! + 0.114 * x[i + 2]!;
    for (let c = 0; c < 3; c++) x[i + c] = clip01(g + f * (x[i + c]! - g));
  }
}

export function autoContrastHost(x: Float32Array, b: number, n: number, C: number): void {
  const o = b * n * C;
  for (let c = 0; c < C; c++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < n; p++) {
      const v = x[o + p * C + c]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const range = hi - lo;
    if (range > 0) for (let p = 0; p < n; p++) x[o + p * C + c] = (x[o + p * C + c]! - lo) / range;
  }
}

export function mapHost(x: Float32Array, b: number, n: number, C: number, f: (v: number) => number): void {
  const o = b * n * C;
  for (let i = o; i < o + n * C; i++) x[i] = f(x[i]!);
}

/** PIL ImageEnhance.Sharpness: blend with the SMOOTH-filtered image ([[1,1,1],[1,5,1],[1,1,1]]/13), borders kept. */
export function sharpnessHost(x: Float32Array, b: number, H: number, W: number, C: number, f: number): void {
  if (H < 3 || W < 3) return;
  const o = b * H * W * C;
  const src = x.slice(o, o + H * W * C);
  for (let y = 1; y < H - 1; y++)
    for (let xx = 1; xx < W - 1; xx++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) s += src[((y + dy) * W + xx + dx) * C + c]! * (dy === 0 && dx === 0 ? 5 : 1);
        const deg = s / 13;
        const i = (y * W + xx) * C + c;
        x[o + i] = clip01(deg + f * (src[i]! - deg));
      }
}

/**
 * PIL ImageOps.equalize per channel of image b: 256-bin histogram of the 8-bit values, step = (Σh − h_last) // 255,
 * lut[i] = (step//2 + Σ_{j<i} h_j) // step (identity when step is 0 or the channel has one value).
 */
export function equalizeHost(x: Float32Array, b: number, n: number, C: number): void {
  const o = b * n * C;
  const hist = new Int32Array(256);
  const lut = new Float32Array(256);
  for (let c = 0; c < C; c++) {
    hist.fill(0);
    for (let p = 0; p < n; p++) hist[Math.min(255, Math.max(0, Math.round(x[o + p * C + c]! * 255)))]!++;
    let last = 0;
    let total = 0;
    let nonzero = 0;
    for (let i = 0; i < 256; i++) {
      if (hist[i]! > 0) {
        last = hist[i]!;
        nonzero++;
      }
      total += hist[i]!;
    }
    const step = Math.floor((total - last) / 255);
    if (nonzero <= 1 || step === 0) {
      for (let p = 0; p < n; p++)
        x[o + p * C + c] = Math.min(255, Math.max(0, Math.round(x[o + p * C + c]! * 255))) / 255;
      continue;
    }
    let acc = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor(acc / step)) / 255;
      acc += hist[i]!;
    }
    for (let p = 0; p < n; p++)
      x[o + p * C + c] = lut[Math.min(255, Math.max(0, Math.round(x[o + p * C + c]! * 255)))]!;
  }
}
