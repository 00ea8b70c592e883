import type { RowArena } from './row-exp';

/**
 * The row math of the fused softmax losses: each function runs once over an `[N, C]` problem, row by row, returns
 * the loss and, when `grad` is given, also writes d loss / d logits (times `dy`) into it, from the same exps: the
 * forward pass of a taped loss computes its gradient on the way, and the backward pass only scales it. Rows are copied into the
 * arena, where the SIMD passes (max, exp + sum) run; everything else is float64 JavaScript over the input views.
 *
 * Per row the softmax of x = z/T is kept as its shift m (the row maximum of x), its sum S = Σ e_c with
 * e_c = exp(x_c − m) in the arena, and lse = m + log S; p_c = e_c / S and log p_c = x_c − lse.
 */

export type Views = Record<string, Float32Array | Int32Array>;
export type Attrs = Record<string, unknown>;

/** A row's softmax (see the module note); `base` is where its exps lie in the arena. */
interface Dist {
  shift: number;
  sum: number;
  lse: number;
  base: number;
}
const dist = (): Dist => ({ shift: 0, sum: 1, lse: 0, base: 0 });

/** Arena layout: eight row slots of C entries, rounded up to a multiple of 4 (aligned SIMD loads). */
function slots(arena: RowArena, c: number): number[] {
  const stride = (c + 3) & ~3;
  arena.reserve(8 * stride + 4);
  return [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i * stride);
}

/** Copies slot `at` of the arena into row `row` of `out`. */
function store(arena: RowArena, at: number, out: Float32Array, row: number, c: number): void {
  out.set(arena.f32.subarray(at, at + c), row * c);
}

/** Copies row `row` of `src` into slot `at`, plus the slot `add` entrywise when given (a float32 add: 1·a + 1·b). */
function load(arena: RowArena, src: Float32Array, row: number, c: number, at: number, add?: number): void {
  const o = row * c;
  arena.f32.set(src.subarray(o, o + c), at);
  if (add !== undefined) arena.comb3(at, add, add, at, c, 1, 1, 0, 0);
}

/** x·invT − shift rounded as the SIMD passes round it. */
function shifted(x: number, invT: number, shift: number): number {
  return Math.fround(Math.fround(x * Math.fround(invT)) - Math.fround(shift));
}

/** softmax(x·invT) of the row in slot `src`; exps into slot `dst`. */
function softmax(arena: RowArena, src: number, dst: number, c: number, invT: number, d: Dist): void {
  const m = Math.fround(arena.rowMax(src, c) * Math.fround(invT)); // the SIMD pass scales by fround(invT)
  d.shift = m;
  d.sum = arena.expSum(src, dst, c, invT, m);
  d.lse = m + Math.log(d.sum);
  d.base = dst;
}

/**
 * The distribution over the classes other than `y` (renormalised), from the full one `d` (exps in slot `dst`): the
 * same exps with e_y left out, unless p_y is so close to 1 that S − e_y loses precision; then a second pass over the
 * row with x_y = −∞ (exps into slot `spare`).
 */
function nonTarget(arena: RowArena, src: number, spare: number, c: number, invT: number, y: number, d: Dist, nd: Dist) {
  const f = arena.f32;
  const rest = d.sum - (f[d.base + y] as number);
  if (rest > 1e-6 * d.sum) {
    nd.shift = d.shift;
    nd.sum = rest;
    nd.lse = d.shift + Math.log(rest);
    nd.base = d.base;
    return;
  }
  const saved = f[src + y] as number;
  f[src + y] = Number.NEGATIVE_INFINITY;
  softmax(arena, src, spare, c, invT, nd);
  f[src + y] = saved;
}

/**
 * Cross-entropy with PyTorch semantics (label smoothing ε, class weights w): L = scale·Σ_n ℓ_n / Σ_n w_{y_n},
 * ℓ_n = −(1 − ε)·w_y·log p_y − (ε/C)·Σ_c w_c·log p_c; a zero weight sum gives 0 (and a zero gradient).
 * Inputs: logits, labels. Attrs: labelSmoothing, weights (empty: none), scale.
 */
export function crossEntropyRows(
  arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.logits as Float32Array;
  const labels = v.labels as Int32Array;
  const eps = a.labelSmoothing as number;
  const w = (a.weights as number[]).length > 0 ? (a.weights as number[]) : null;
  const scale = a.scale as number;
  let den = n;
  let wSum = c;
  if (w) {
    den = 0;
    for (let i = 0; i < n; i++) den += w[labels[i] as number] as number;
    wSum = 0;
    for (let j = 0; j < c; j++) wSum += w[j] as number;
  }
  if (den === 0) {
    grad?.fill(0);
    return 0;
  }
  const [S, E, G] = slots(arena, c) as [number, number, number];
  const d = dist();
  const k = (dy * scale) / den;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const y = labels[i] as number;
    const wy = w ? (w[y] as number) : 1;
    load(arena, z, i, c, S);
    softmax(arena, S, E, c, 1, d);
    let loss = -(1 - eps) * wy * ((z[o + y] as number) - d.lse);
    if (eps > 0) {
      let sw = 0;
      for (let j = 0; j < c; j++) sw += (w ? (w[j] as number) : 1) * ((z[o + j] as number) - d.lse);
      loss -= (eps / c) * sw;
    }
    total += loss;
    if (!grad) continue;
    const f = arena.f32;
    const inv = 1 / d.sum;
    const a1 = (1 - eps) * wy;
    const a2 = (eps / c) * wSum;
    if (w && eps > 0) {
      for (let j = 0; j < c; j++) {
        const p = (f[E + j] as number) * inv;
        grad[o + j] = k * ((a1 + a2) * p - (eps / c) * (w[j] as number));
      }
    } else {
      arena.comb3(E, E, E, G, c, k * (a1 + a2) * inv, 0, 0, (-k * eps) / c);
      store(arena, G, grad, i, c);
    }
    // The target entry in float64 from the formula (exactly 0 where p_y = 1 and the terms cancel).
    const py = (f[E + y] as number) * inv;
    grad[o + y] = k * ((a1 + a2) * py - (eps / c) * (w ? (w[y] as number) : 1) - a1);
  }
  return (scale * total) / den;
}

/**
 * Cross-entropy with soft targets q (constant): L = scale·Σ_n −Σ_c w_c·q_c·log p_c (w: optional class weights).
 * Inputs: logits, targets. Attrs: weights (empty: none), scale (1/N for the mean).
 */
export function softTargetRows(
  arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.logits as Float32Array;
  const q = v.targets as Float32Array;
  const w = (a.weights as number[]).length > 0 ? (a.weights as number[]) : null;
  const scale = a.scale as number;
  const [S, E] = slots(arena, c) as [number, number];
  const d = dist();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    load(arena, z, i, c, S);
    softmax(arena, S, E, c, 1, d);
    let row = 0;
    for (let j = 0; j < c; j++) {
      row -= (w ? (w[j] as number) : 1) * (q[o + j] as number) * ((z[o + j] as number) - d.lse);
    }
    total += row;
    if (!grad) continue;
    let mass = 0;
    for (let j = 0; j < c; j++) mass += (w ? (w[j] as number) : 1) * (q[o + j] as number);
    const f = arena.f32;
    const k = dy * scale;
    const inv = mass / d.sum;
    for (let j = 0; j < c; j++) {
      grad[o + j] = k * ((f[E + j] as number) * inv - (w ? (w[j] as number) : 1) * (q[o + j] as number));
    }
  }
  return scale * total;
}

/**
 * KL(softmax(t/T) ‖ softmax(z/T)) summed over classes and rows, times `scale` (T²/N for Hinton KD, T²/(N·C) for
 * DeiT's soft distillation). With `weights` (DeiT-LT's soft + class weights quirk) the teacher's log-probabilities
 * become w·log p_t / Σ_c w·log p_t, used as the log-target (its exp need not sum to 1).
 * Inputs: student, teacher. Attrs: temperature, scale, weights (empty: none).
 */
export function kdRows(
  arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.student as Float32Array;
  const t = v.teacher as Float32Array;
  const T = a.temperature as number;
  const invT = 1 / T;
  const w = (a.weights as number[]).length > 0 ? (a.weights as number[]) : null;
  const scale = a.scale as number;
  const [S, TT, ES, ET, G] = slots(arena, c) as [number, number, number, number, number];
  const ds = dist();
  const dt = dist();
  const k = dy * scale * invT;
  const logTarget = w ? new Float64Array(c) : null;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    load(arena, z, i, c, S);
    load(arena, t, i, c, TT);
    softmax(arena, S, ES, c, invT, ds);
    softmax(arena, TT, ET, c, invT, dt);
    const f = arena.f32;
    if (logTarget && w) {
      let rowSum = 0;
      for (let j = 0; j < c; j++) {
        const lt = (w[j] as number) * ((t[o + j] as number) / T - dt.lse);
        logTarget[j] = lt;
        rowSum += lt;
      }
      let mass = 0;
      let kl = 0;
      for (let j = 0; j < c; j++) {
        const lt = (logTarget[j] as number) / rowSum;
        const qj = Math.exp(lt);
        mass += qj;
        kl += qj * (lt - ((z[o + j] as number) / T - ds.lse));
        logTarget[j] = qj;
      }
      total += kl;
      if (grad) {
        const inv = mass / ds.sum;
        for (let j = 0; j < c; j++) grad[o + j] = k * ((f[ES + j] as number) * inv - (logTarget[j] as number));
      }
      continue;
    }
    // KL = Σ q·(t − z)/T + lse_s − lse_t; d/dz = (p_s − q)/T
    // KL = Σ q·((x_t − m_t) − (x_s − m_s)) + log S_s − log S_t
    total += arena.dot(ET, TT, S, c, invT, dt.shift, invT, ds.shift) / dt.sum + Math.log(ds.sum / dt.sum);
    if (grad) {
      arena.comb3(ES, ET, ET, G, c, k / ds.sum, -k / dt.sum, 0, 0);
      store(arena, G, grad, i, c);
    }
  }
  return scale * total;
}

/**
 * Decoupled KD: (T²/N)·Σ_n α·KL(b_t ‖ b_s) + β·KL(p̂_t ‖ p̂_s), b = [p_y, 1 − p_y] of softmax(x/T), p̂ the
 * distribution over the non-target classes; times `scale` (1 for the loss).
 * Inputs: student, teacher, labels. Attrs: alpha, beta, temperature, scale.
 */
export function dkdRows(
  arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.student as Float32Array;
  const t = v.teacher as Float32Array;
  const labels = v.labels as Int32Array;
  const alpha = a.alpha as number;
  const beta = a.beta as number;
  const T = a.temperature as number;
  const invT = 1 / T;
  const scale = ((a.scale as number) * T * T) / n;
  const [S, TT, ES, ET, ESN, ETN, G] = slots(arena, c) as [number, number, number, number, number, number, number];
  const [ds, dt, ns, nt] = [dist(), dist(), dist(), dist()];
  const k = dy * scale * invT;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const y = labels[i] as number;
    load(arena, z, i, c, S);
    load(arena, t, i, c, TT);
    softmax(arena, S, ES, c, invT, ds);
    softmax(arena, TT, ET, c, invT, dt);
    nonTarget(arena, S, ESN, c, invT, y, ds, ns);
    nonTarget(arena, TT, ETN, c, invT, y, dt, nt);
    const f = arena.f32;
    // log b = [x_y − lse, lseNon − lse]
    const logBsT = (z[o + y] as number) / T - ds.lse;
    const logBsN = ns.lse - ds.lse;
    const logBtT = (t[o + y] as number) / T - dt.lse;
    const logBtN = nt.lse - dt.lse;
    const btT = Math.exp(logBtT);
    const btN = Math.exp(logBtN);
    const invNs = 1 / ns.sum;
    const invNt = 1 / nt.sum;
    const tckd = btT * (logBtT - logBsT) + btN * (logBtN - logBsN);
    // Σ_{c≠y} p̂_t·((x_t − m̂_t) − (x_s − m̂_s)) + log Ŝ_s − log Ŝ_t (the target's entry taken back out of the dot)
    const targetTerm =
      (f[nt.base + y] as number) *
      (shifted(f[TT + y] as number, invT, nt.shift) - shifted(f[S + y] as number, invT, ns.shift));
    const dotNon = arena.dot(nt.base, TT, S, c, invT, nt.shift, invT, ns.shift) - targetTerm;
    const nckd = dotNon * invNt + Math.log(ns.sum / nt.sum);
    total += alpha * tckd + beta * nckd;
    if (!grad) continue;
    // d/dx_c: α(p_s,c − b_t,tgt·δ_cy − b_t,non·[c≠y]·p̂_s,c) + β·[c≠y]·(p̂_s,c − p̂_t,c)
    const invSs = 1 / ds.sum;
    arena.comb3(ES, ns.base, nt.base, G, c, k * alpha * invSs, k * (beta - alpha * btN) * invNs, -k * beta * invNt, 0);
    store(arena, G, grad, i, c);
    grad[o + y] = k * alpha * ((f[ES + y] as number) * invSs - btT);
  }
  return scale * total;
}

/**
 * Normalized KD: (1/N)·Σ_n −softmax(t)_y·log softmax(z)_y − γ·T²·Σ_{c≠y} p̂_t,c·log p̂_s,c (p̂: softmax of the
 * non-target logits over T), times `scale`. Inputs: student, teacher, labels. Attrs: temperature, gamma, scale.
 */
export function nkdRows(
  arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.student as Float32Array;
  const t = v.teacher as Float32Array;
  const labels = v.labels as Int32Array;
  const T = a.temperature as number;
  const invT = 1 / T;
  const gamma = a.gamma as number;
  const scale = (a.scale as number) / n;
  const [S, TT, ES, ET, ESN, ETN, G] = slots(arena, c) as [number, number, number, number, number, number, number];
  const [ds, dt, ns, nt] = [dist(), dist(), dist(), dist()];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const y = labels[i] as number;
    load(arena, z, i, c, S);
    load(arena, t, i, c, TT);
    softmax(arena, S, ES, c, 1, ds);
    softmax(arena, TT, ET, c, 1, dt);
    const tTarget = (arena.f32[ET + y] as number) / dt.sum;
    if (T === 1) {
      nonTarget(arena, S, ESN, c, 1, y, ds, ns);
      nonTarget(arena, TT, ETN, c, 1, y, dt, nt);
    } else {
      // The tempered non-target distributions: x_y = −∞, then softmax(x/T).
      for (const [src, dst, d] of [
        [S, ESN, ns],
        [TT, ETN, nt],
      ] as const) {
        const saved = arena.f32[src + y] as number;
        arena.f32[src + y] = Number.NEGATIVE_INFINITY;
        softmax(arena, src, dst, c, invT, d);
        arena.f32[src + y] = saved;
      }
    }
    const f = arena.f32;
    const invNs = 1 / ns.sum;
    const invNt = 1 / nt.sum;
    // Σ_{c≠y} p̂_t·log p̂_s = Σ_{c≠y} p̂_t·(x_s − m̂_s) − log Ŝ_s
    const targetTerm = (f[nt.base + y] as number) * shifted(f[S + y] as number, invT, ns.shift);
    const non = (arena.dot(nt.base, S, S, c, invT, ns.shift, 0, 0) - targetTerm) * invNt - Math.log(ns.sum);
    total += -tTarget * ((z[o + y] as number) - ds.lse) - gamma * T * T * non;
    if (!grad) continue;
    // d/dz_c: −t_y·(δ_cy − p_c) + γ·T·[c≠y]·(p̂_s,c − p̂_t,c)
    const k = dy * scale;
    const invSs = 1 / ds.sum;
    const g = gamma * T;
    arena.comb3(ES, ns.base, nt.base, G, c, k * tTarget * invSs, k * g * invNs, -k * g * invNt, 0);
    store(arena, G, grad, i, c);
    grad[o + y] = k * tTarget * ((f[ES + y] as number) * invSs - 1);
  }
  return scale * total;
}

/**
 * One MDCS expert: z' = z + prior; CE(z', labels) over all 2B rows (mean) + klWeight·Σ_{n∈m} KL(softmax(z'_weak,n)
 * ‖ softmax(z'_strong,n)) / max(|m|, 1), m = rows whose weak-view argmax (lowest index on ties) is the label; the
 * weak view is the (constant) target. Inputs: logits, labels. Attrs: prior (float32 values), klWeight, scale.
 */
export function mdcsExpertRows(
  arena: RowArena,
  v: Views,
  rows: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.logits as Float32Array;
  const labels = v.labels as Int32Array;
  const prior = a.prior as number[];
  const klWeight = a.klWeight as number;
  const scale = a.scale as number;
  const half = rows / 2;
  const [W, S, EW, ES, G, G2, P] = slots(arena, c) as [number, number, number, number, number, number, number];
  arena.f32.set(prior, P); // float32, as tf.tensor1d(prior, 'float32')
  const dw = dist();
  const ds = dist();
  // The CIS mask first (its size normalises the KL term).
  const mask = new Uint8Array(half);
  let selected = 0;
  for (let i = 0; i < half; i++) {
    load(arena, z, i, c, W, P);
    const f = arena.f32;
    const m = arena.rowMax(W, c);
    let arg = 0;
    while (arg < c - 1 && (f[W + arg] as number) !== m) arg++;
    if (arg === labels[i]) {
      mask[i] = 1;
      selected++;
    }
  }
  const kl = klWeight / Math.max(selected, 1);
  const ce = 1 / rows;
  let ceTotal = 0;
  let klTotal = 0;
  for (let i = 0; i < half; i++) {
    const ow = i * c;
    const os = (half + i) * c;
    const yw = labels[i] as number;
    const ys = labels[half + i] as number;
    load(arena, z, i, c, W, P);
    load(arena, z, half + i, c, S, P);
    softmax(arena, W, EW, c, 1, dw);
    softmax(arena, S, ES, c, 1, ds);
    const f = arena.f32;
    ceTotal += dw.lse - (f[W + yw] as number) + ds.lse - (f[S + ys] as number);
    if (mask[i]) klTotal += arena.dot(EW, W, S, c, 1, dw.shift, 1, ds.shift) / dw.sum + Math.log(ds.sum / dw.sum);
    if (!grad) continue;
    const k = dy * scale;
    const invW = 1 / dw.sum;
    const invS = 1 / ds.sum;
    const klK = mask[i] ? kl : 0;
    arena.comb3(EW, EW, EW, G, c, k * ce * invW, 0, 0, 0);
    arena.comb3(ES, EW, EW, G2, c, k * (ce + klK) * invS, -k * klK * invW, 0, 0);
    store(arena, G, grad, i, c);
    store(arena, G2, grad, half + i, c);
    grad[ow + yw] = (grad[ow + yw] as number) - Math.fround(k * ce);
    grad[os + ys] = (grad[os + ys] as number) - Math.fround(k * ce);
  }
  return scale * (ceTotal * ce + klTotal * kl);
}

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);
/** A float32 value as a uint32 that sorts ascending where the value sorts descending (+0 for −0, as tf.topk ties them). */
function descendingKey(x: number): number {
  f32Bits[0] = x === 0 ? 0 : x;
  const b = u32Bits[0] as number;
  const ascending = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  return 0xffffffff - ascending;
}

/** Scratch of rankByKeys for `c` entries. */
interface RankScratch {
  counts: Int32Array;
  a: Int32Array;
  b: Int32Array;
}
const rankScratch = (c: number): RankScratch => ({
  counts: new Int32Array(1024),
  a: new Int32Array(c),
  b: new Int32Array(c),
});

/**
 * rank[j] = position of entry j when the uint32 `keys` are sorted ascending, ties in index order (as tf.topk breaks
 * them): a stable LSD radix sort, four 8-bit passes (a pass whose digit is the same for every key is skipped). A row
 * of 1000 ranks in ~4·1000 scatters, several times faster than a comparison sort.
 */
function rankByKeys(keys: Uint32Array, c: number, rank: Int32Array, scratch: RankScratch): void {
  const { counts } = scratch;
  counts.fill(0);
  for (let j = 0; j < c; j++) {
    const k = keys[j] as number;
    counts[k & 255]!++;
    counts[256 + ((k >>> 8) & 255)]!++;
    counts[512 + ((k >>> 16) & 255)]!++;
    counts[768 + (k >>> 24)]!++;
  }
  let src = scratch.a;
  let dst = scratch.b;
  for (let j = 0; j < c; j++) src[j] = j;
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * 256;
    const shift = pass * 8;
    if (counts[base + (((keys[0] as number) >>> shift) & 255)] === c) continue;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const n = counts[base + d] as number;
      counts[base + d] = sum;
      sum += n;
    }
    for (let r = 0; r < c; r++) {
      const j = src[r] as number;
      const d = ((keys[j] as number) >>> shift) & 255;
      dst[counts[base + d]!++] = j;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  for (let r = 0; r < c; r++) rank[src[r] as number] = r;
}

/**
 * The student terms of USKD (yzd-v/cls_KD, mmcls/models/dis_losses/uskd.py; arXiv 2303.13005), over the label columns
 * l_{n,j} (j < k) with values v_{n,j} (1 for hard labels, the top-2 mixed scores for soft targets):
 *
 *     p̃_{n,j} = s²_{n,j} − mean_n s²_{·,j} + v_{n,j} (0 where v = 0),   s = softmax(z)[l]        (constant)
 *     loss_t   = −(1/N)·Σ_n Σ_j p̃_{n,j}·log p_{n,l_j}
 *     score_c  = w_c/(1 − Σ_j w_{l_j} + 1e-6) + ls_c/(1 − Σ_j ls_{l_j} + 1e-6),  w = softmax(weak), ls = log p
 *     ẑ_c      = (1/(rank_c + 1)) / Σ_{c'∉l} 1/(rank_{c'} + 1) off the labels, 0 on them   (rank by score, descending,
 *                ties to the lower index, as tf.topk)                                           (constant)
 *     loss_non = −(1/N)·Σ_n Σ_{c∉l} ẑ_c·log p̂_c,   p̂ = softmax over the non-label classes
 *     L = alpha·loss_t + beta·loss_non
 *
 * Two passes: the first gets each row's s² (their batch mean is needed before any row's p̃), the second the rest.
 * d/dz_c = (alpha/N)·(P·p_c − Σ_j p̃_j·δ_{c,l_j}) + (beta/N)·[c∉l]·(p̂_c − ẑ_c), P = Σ_j p̃_j.
 * Inputs: student [N, C], weak [N, C] (constant), columns int32 [N, k], values [N, k]. Attrs: alpha, beta.
 */
export function uskdStudentRows(
  arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.student as Float32Array;
  const weak = v.weak as Float32Array;
  const cols = v.columns as Int32Array;
  const vals = v.values as Float32Array;
  const k = cols.length / n;
  const alpha = a.alpha as number;
  const beta = a.beta as number;
  const [S, ES, W, EW, EN, Z, G] = slots(arena, c) as [number, number, number, number, number, number, number];
  const [ds, dw, dn] = [dist(), dist(), dist()];
  // Pass 1: s² per row and label column, and their batch means.
  const sq = new Float64Array(n * k);
  const mean = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    load(arena, z, i, c, S);
    softmax(arena, S, ES, c, 1, ds);
    for (let j = 0; j < k; j++) {
      const p = (arena.f32[ES + (cols[i * k + j] as number)] as number) / ds.sum;
      sq[i * k + j] = p * p;
      mean[j] = (mean[j] as number) + (p * p) / n;
    }
  }
  const keys = new Uint32Array(c);
  const rank = new Int32Array(c);
  const scratch = rankScratch(c);
  const inverseRank = Float64Array.from({ length: c }, (_, r) => 1 / (r + 1));
  const harmonicSum = inverseRank.reduce((sum, x) => sum + x, 0);
  const isLabel = new Uint8Array(c);
  const g = dy / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    load(arena, z, i, c, S);
    load(arena, weak, i, c, W);
    softmax(arena, S, ES, c, 1, ds);
    softmax(arena, W, EW, c, 1, dw);
    const f = arena.f32;
    let pSum = 0;
    let lossT = 0;
    let wT = 0;
    let lsT = 0;
    let targetExp = 0;
    for (let j = 0; j < k; j++) {
      const l = cols[i * k + j] as number;
      const value = vals[i * k + j] as number;
      const pt = value === 0 ? 0 : (sq[i * k + j] as number) - (mean[j] as number) + value;
      const ls = (z[o + l] as number) - ds.lse;
      pSum += pt;
      lossT -= pt * ls;
      wT += (f[EW + l] as number) / dw.sum;
      lsT += ls;
      targetExp += f[ES + l] as number;
      isLabel[l] = 1;
    }
    // The ranking score in float32, as the composed ops compute it (its order decides the Zipf labels).
    const wDen = Math.fround(Math.fround(1 - Math.fround(wT)) + 1e-6);
    const lsDen = Math.fround(Math.fround(1 - Math.fround(lsT)) + 1e-6);
    const invW = 1 / dw.sum;
    for (let j = 0; j < c; j++) {
      const wj = Math.fround((f[EW + j] as number) * invW);
      const lsj = Math.fround((z[o + j] as number) - ds.lse);
      const score = Math.fround(Math.fround(wj / wDen) + Math.fround(lsj / lsDen));
      keys[j] = descendingKey(score);
    }
    rankByKeys(keys, c, rank, scratch);
    // Σ over the non-label classes of 1/(rank + 1): every rank 0 … C−1 occurs once, so the full harmonic sum less the
    // labels' terms.
    let zipfSum = harmonicSum;
    for (let j = 0; j < k; j++) zipfSum -= inverseRank[rank[cols[i * k + j] as number] as number] as number;
    const invZipf = 1 / zipfSum;
    // p̂: the row's exps without the label columns, or (p of the labels ≈ 1) a second pass with them at −∞.
    const rest = ds.sum - targetExp;
    if (rest > 1e-6 * ds.sum) {
      dn.shift = ds.shift;
      dn.sum = rest;
      dn.lse = ds.shift + Math.log(rest);
      dn.base = ES;
    } else {
      for (let j = 0; j < k; j++) f[S + (cols[i * k + j] as number)] = Number.NEGATIVE_INFINITY;
      softmax(arena, S, EN, c, 1, dn);
    }
    let lossNon = 0;
    for (let j = 0; j < c; j++) {
      const q = isLabel[j] ? 0 : (inverseRank[rank[j] as number] as number) * invZipf;
      f[Z + j] = q;
      if (q > 0) lossNon -= q * ((z[o + j] as number) - dn.lse);
    }
    total += alpha * lossT + beta * lossNon;
    if (grad) {
      arena.comb3(ES, dn.base, Z, G, c, (g * alpha * pSum) / ds.sum, (g * beta) / dn.sum, -g * beta, 0);
      store(arena, G, grad, i, c);
      for (let j = 0; j < k; j++) {
        const l = cols[i * k + j] as number;
        const value = vals[i * k + j] as number;
        const pt = value === 0 ? 0 : (sq[i * k + j] as number) - (mean[j] as number) + value;
        grad[o + l] = g * alpha * (pSum * ((f[ES + l] as number) / ds.sum) - pt);
      }
    }
    for (let j = 0; j < k; j++) isLabel[cols[i * k + j] as number] = 0;
  }
  return total / n;
}

/**
 * F.normalize-then-MSE over the rows (the CLKD instance term), in float64: for each row x of the student (t of the
 * teacher), u = x / max(‖x‖, 1e-12) (F.normalize), loss += weight·Σ(u − v)²·scale, and d/dx = (g − u·⟨u, g⟩)/‖x‖
 * with g = 2·weight·scale·(u − v) (g/1e-12 where ‖x‖ <= 1e-12, the clamped branch). Float64 squares cannot overflow
 * for any float32 input, so no rescaling is needed. Adds into `grad`.
 */
function rowNormalizedMse(
  z: Float32Array,
  t: Float32Array,
  n: number,
  c: number,
  weight: number,
  scale: number,
  grad: Float32Array | null,
  dy: number,
): number {
  let total = 0;
  const k = 2 * weight * scale * dy;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let zz = 0;
    let tt = 0;
    for (let j = o; j < o + c; j++) {
      const a = z[j] as number;
      const b = t[j] as number;
      zz += a * a;
      tt += b * b;
    }
    const rz = Math.sqrt(zz);
    const dz = Math.max(rz, NORMALIZE_EPS);
    const dt = Math.max(Math.sqrt(tt), NORMALIZE_EPS);
    let ug = 0;
    for (let j = o; j < o + c; j++) {
      const u = (z[j] as number) / dz;
      const diff = u - (t[j] as number) / dt;
      total += diff * diff;
      ug += u * diff;
    }
    if (!grad) continue;
    const clamped = rz <= NORMALIZE_EPS;
    for (let j = o; j < o + c; j++) {
      const u = (z[j] as number) / dz;
      const g = k * (u - (t[j] as number) / dt);
      grad[j] = (grad[j] as number) + (clamped ? g / NORMALIZE_EPS : (g - u * k * ug) / rz);
    }
  }
  return weight * scale * total;
}
const NORMALIZE_EPS = 1e-12;

/** rowNormalizedMse over the columns (the class term), walking the rows in memory order. */
function columnNormalizedMse(
  z: Float32Array,
  t: Float32Array,
  n: number,
  c: number,
  weight: number,
  scale: number,
  grad: Float32Array | null,
  dy: number,
): number {
  const zz = new Float64Array(c);
  const tt = new Float64Array(c);
  for (let i = 0, at = 0; i < n; i++) {
    for (let j = 0; j < c; j++, at++) {
      const a = z[at] as number;
      const b = t[at] as number;
      zz[j] = (zz[j] as number) + a * a;
      tt[j] = (tt[j] as number) + b * b;
    }
  }
  const rz = zz.map(Math.sqrt);
  const dz = rz.map((r) => Math.max(r, NORMALIZE_EPS));
  const dt = tt.map((q) => Math.max(Math.sqrt(q), NORMALIZE_EPS));
  const ug = new Float64Array(c);
  let total = 0;
  for (let i = 0, at = 0; i < n; i++) {
    for (let j = 0; j < c; j++, at++) {
      const u = (z[at] as number) / (dz[j] as number);
      const diff = u - (t[at] as number) / (dt[j] as number);
      total += diff * diff;
      ug[j] = (ug[j] as number) + u * diff;
    }
  }
  if (grad) {
    const k = 2 * weight * scale * dy;
    for (let i = 0, at = 0; i < n; i++) {
      for (let j = 0; j < c; j++, at++) {
        const r = rz[j] as number;
        const u = (z[at] as number) / (dz[j] as number);
        const g = k * (u - (t[at] as number) / (dt[j] as number));
        grad[at] =
          (grad[at] as number) + (r <= NORMALIZE_EPS ? g / NORMALIZE_EPS : (g - u * k * (ug[j] as number)) / r);
      }
    }
  }
  return weight * scale * total;
}

/**
 * CLKD's logit terms (arXiv 2211.14773; HyunJunSik/StreamLined, Distiller/CLKD.py): instanceWeight·MSE(rownorm(z),
 * rownorm(t)) + classWeight·MSE(colnorm(z), colnorm(t)), rows (columns) L2-normalised as F.normalize does; the teacher
 * is constant. Inputs: student, teacher. Attrs: instanceWeight, classWeight.
 */
export function clkdLogitRows(
  _arena: RowArena,
  v: Views,
  n: number,
  c: number,
  a: Attrs,
  grad: Float32Array | null,
  dy: number,
): number {
  const z = v.student as Float32Array;
  const t = v.teacher as Float32Array;
  grad?.fill(0);
  const scale = 1 / (n * c);
  const instance = rowNormalizedMse(z, t, n, c, a.instanceWeight as number, scale, grad, dy);
  return instance + columnNormalizedMse(z, t, n, c, a.classWeight as number, scale, grad, dy);
}
