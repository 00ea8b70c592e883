import { type Bytes, encodeModule, op, valType } from '@distillery/tensor/wasm';

/**
 * The matrix-vector products of the scaled Sinkhorn iteration, as a small hand-written WebAssembly SIMD (f64x2)
 * module over a row-major float64 kernel K̃ (N×K):
 *
 *   rows:   s_i = Σ_j K̃_ij e_j
 *   cols:   c_j = Σ_i K̃_ij a_i                       (c accumulates: zero it first)
 *   sweep:  s_i = Σ_j K̃_ij e_j,  a_i = t_i / s_i,  c_j += K̃_ij a_i
 *   scale:  K̃_ij ← K̃_ij a_i e_j                         (the plan, in place)
 *   expAffine: K̃_ij = exp(L_ij + f_i + g_j)
 *
 * `sweep` is one Sinkhorn iteration's two products fused into a single pass over K̃: row i is summed, its new
 * scaling computed, and the same row (still in cache) added into the column sums. The reference solvers
 * (PyTorch, POT) read the kernel twice per iteration; at the official sizes the solve is bound by those reads.
 *
 * Summation order differs from a sequential loop (eight interleaved partial sums), so results agree with it to a
 * few float64 ulps.
 */

// Parameters (i32 byte addresses and sizes), then locals.
const KT = 0;
const N = 1;
const K = 2;
const E = 3;
const T = 4;
const S = 5;
const A = 6;
const COL = 7;
const I = 8;
const J = 9;
const ROW = 10;
const K8 = 11;
const P = 12;
const SUM = 13;
const AI = 14;
const ACC = [15, 16, 17, 18];
const VA = 19;
// Second row of the two-row sweep.
const ROW2 = 20;
const SUM2 = 21;
const AI2 = 22;
const ACC2 = [23, 24, 25, 26];
const VA2 = 27;
const VE = 28;
// Range of the sweep's row sums and scalings, stored after the column sums (COL + K·8: min s, max s, min a, max a).
const SMIN = 29;
const SMAX = 30;
const AMIN = 31;
const AMAX = 32;

/** Folds SUM-like and AI-like locals into the running ranges. */
const track = (sum: number, ai: number): Bytes =>
  (
    [
      [SMIN, sum, op.f64Min],
      [SMAX, sum, op.f64Max],
      [AMIN, ai, op.f64Min],
      [AMAX, ai, op.f64Max],
    ] as const
  ).flatMap(([range, value, fold]) => [...op.get(range), ...op.get(value), ...fold(), ...op.set(range)]);

const UNROLL_OFFSETS = [0, 16, 32, 48];

/** P = J·8 */
const setByteOffset = (): Bytes => [...op.get(J), ...op.i32Const(3), ...op.i32Shl(), ...op.set(P)];
const address = (base: number): Bytes => [...op.get(base), ...op.get(P), ...op.i32Add()];

/** SUM = Σ_j ROW[j]·E[j]: four f64x2 accumulators over blocks of 8, then a scalar tail. */
function rowSum(): Bytes {
  const body: Bytes = [];
  for (const acc of ACC) body.push(...op.v128Const(), ...op.set(acc));
  body.push(...op.i32Const(0), ...op.set(J));
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(J), ...op.get(K8), ...op.i32GeU(), ...op.brIf(1));
  body.push(...setByteOffset());
  UNROLL_OFFSETS.forEach((offset, h) => {
    body.push(...op.get(ACC[h] as number));
    body.push(...address(ROW), ...op.v128Load(offset), ...address(E), ...op.v128Load(offset), ...op.f64x2Mul());
    body.push(...op.f64x2Add(), ...op.set(ACC[h] as number));
  });
  body.push(...op.get(J), ...op.i32Const(8), ...op.i32Add(), ...op.set(J), ...op.br(0));
  body.push(...op.end(), ...op.end());
  // ((acc0 + acc1) + (acc2 + acc3)), lanes summed.
  body.push(...op.get(ACC[0] as number), ...op.get(ACC[1] as number), ...op.f64x2Add());
  body.push(...op.get(ACC[2] as number), ...op.get(ACC[3] as number), ...op.f64x2Add(), ...op.f64x2Add());
  body.push(...op.set(ACC[0] as number));
  body.push(...op.get(ACC[0] as number), ...op.f64x2ExtractLane(0), ...op.get(ACC[0] as number));
  body.push(...op.f64x2ExtractLane(1), ...op.f64Add(), ...op.set(SUM));
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(J), ...op.get(K), ...op.i32GeU(), ...op.brIf(1));
  body.push(...setByteOffset());
  body.push(...op.get(SUM), ...address(ROW), ...op.f64Load(), ...address(E), ...op.f64Load(), ...op.f64Mul());
  body.push(...op.f64Add(), ...op.set(SUM));
  body.push(...op.get(J), ...op.i32Const(1), ...op.i32Add(), ...op.set(J), ...op.br(0));
  body.push(...op.end(), ...op.end());
  return body;
}

/** COL[j] += ROW[j]·AI for every j. */
function columnAccumulate(): Bytes {
  const body: Bytes = [...op.get(AI), ...op.f64x2Splat(), ...op.set(VA), ...op.i32Const(0), ...op.set(J)];
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(J), ...op.get(K8), ...op.i32GeU(), ...op.brIf(1));
  body.push(...setByteOffset());
  for (const offset of UNROLL_OFFSETS) {
    body.push(...address(COL), ...address(COL), ...op.v128Load(offset));
    body.push(...address(ROW), ...op.v128Load(offset), ...op.get(VA), ...op.f64x2Mul(), ...op.f64x2Add());
    body.push(...op.v128Store(offset));
  }
  body.push(...op.get(J), ...op.i32Const(8), ...op.i32Add(), ...op.set(J), ...op.br(0));
  body.push(...op.end(), ...op.end());
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(J), ...op.get(K), ...op.i32GeU(), ...op.brIf(1));
  body.push(...setByteOffset());
  body.push(...address(COL), ...address(COL), ...op.f64Load(), ...address(ROW), ...op.f64Load());
  body.push(...op.get(AI), ...op.f64Mul(), ...op.f64Add(), ...op.f64Store());
  body.push(...op.get(J), ...op.i32Const(1), ...op.i32Add(), ...op.set(J), ...op.br(0));
  body.push(...op.end(), ...op.end());
  return body;
}

/** Byte address of entry I of a length-N f64 vector at `base`. */
const rowEntry = (base: number): Bytes => [
  ...op.get(base),
  ...op.get(I),
  ...op.i32Const(3),
  ...op.i32Shl(),
  ...op.i32Add(),
];

/** ROW[j] ← ROW[j]·AI·E[j] for every j (padding stays 0: E's padding is 0). */
function scaleRow(): Bytes {
  const body: Bytes = [...op.get(AI), ...op.f64x2Splat(), ...op.set(VA), ...op.i32Const(0), ...op.set(J)];
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(J), ...op.get(K), ...op.i32GeU(), ...op.brIf(1));
  body.push(...setByteOffset());
  for (const offset of UNROLL_OFFSETS) {
    body.push(...address(ROW), ...address(ROW), ...op.v128Load(offset), ...op.get(VA), ...op.f64x2Mul());
    body.push(...address(E), ...op.v128Load(offset), ...op.f64x2Mul(), ...op.v128Store(offset));
  }
  body.push(...op.get(J), ...op.i32Const(8), ...op.i32Add(), ...op.set(J), ...op.br(0));
  body.push(...op.end(), ...op.end());
  return body;
}

/**
 * The sweep two rows at a time: both row sums share the loads of e, and the column sums are loaded and stored
 * once per pair of rows (col_j += K̃_ij a_i + K̃_{i+1,j} a_{i+1}). Leaves I at the first row not done.
 */
function sweepRowPairs(): Bytes {
  const b: Bytes = [];
  const loop8 = (inner: Bytes): Bytes => [
    ...op.i32Const(0),
    ...op.set(J),
    ...op.block(),
    ...op.loop(),
    ...op.get(J),
    ...op.get(K8),
    ...op.i32GeU(),
    ...op.brIf(1),
    ...setByteOffset(),
    ...inner,
    ...op.get(J),
    ...op.i32Const(8),
    ...op.i32Add(),
    ...op.set(J),
    ...op.br(0),
    ...op.end(),
    ...op.end(),
  ];
  const hsum = (acc: number[], into: number): Bytes => [
    ...op.get(acc[0] as number),
    ...op.get(acc[1] as number),
    ...op.f64x2Add(),
    ...op.get(acc[2] as number),
    ...op.get(acc[3] as number),
    ...op.f64x2Add(),
    ...op.f64x2Add(),
    ...op.set(acc[0] as number),
    ...op.get(acc[0] as number),
    ...op.f64x2ExtractLane(0),
    ...op.get(acc[0] as number),
    ...op.f64x2ExtractLane(1),
    ...op.f64Add(),
    ...op.set(into),
  ];
  const rowEntryAt = (base: number, plus: number): Bytes => [
    ...rowEntry(base),
    ...op.i32Const(plus * 8),
    ...op.i32Add(),
  ];
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(I), ...op.i32Const(1), ...op.i32Add(), ...op.get(N), ...op.i32GeU(), ...op.brIf(1));
  b.push(...op.get(ROW), ...op.get(K), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(ROW2));
  for (const acc of [...ACC, ...ACC2]) b.push(...op.v128Const(), ...op.set(acc));
  const sums: Bytes = [];
  UNROLL_OFFSETS.forEach((offset, h) => {
    sums.push(...address(E), ...op.v128Load(offset), ...op.set(VE));
    for (const [row, acc] of [
      [ROW, ACC[h]],
      [ROW2, ACC2[h]],
    ] as const) {
      sums.push(...op.get(acc as number), ...address(row), ...op.v128Load(offset), ...op.get(VE), ...op.f64x2Mul());
      sums.push(...op.f64x2Add(), ...op.set(acc as number));
    }
  });
  b.push(...loop8(sums), ...hsum(ACC, SUM), ...hsum(ACC2, SUM2));
  for (const [sum, ai, plus] of [
    [SUM, AI, 0],
    [SUM2, AI2, 1],
  ] as const) {
    b.push(...rowEntryAt(S, plus), ...op.get(sum), ...op.f64Store());
    b.push(...rowEntryAt(T, plus), ...op.f64Load(), ...op.get(sum), ...op.f64Div(), ...op.set(ai));
    b.push(...rowEntryAt(A, plus), ...op.get(ai), ...op.f64Store(), ...track(sum, ai));
  }
  b.push(...op.get(AI), ...op.f64x2Splat(), ...op.set(VA), ...op.get(AI2), ...op.f64x2Splat(), ...op.set(VA2));
  const accumulate: Bytes = [];
  for (const offset of UNROLL_OFFSETS) {
    accumulate.push(...address(COL), ...address(COL), ...op.v128Load(offset));
    accumulate.push(...address(ROW), ...op.v128Load(offset), ...op.get(VA), ...op.f64x2Mul(), ...op.f64x2Add());
    accumulate.push(...address(ROW2), ...op.v128Load(offset), ...op.get(VA2), ...op.f64x2Mul(), ...op.f64x2Add());
    accumulate.push(...op.v128Store(offset));
  }
  b.push(...loop8(accumulate));
  b.push(...op.get(ROW2), ...op.get(K), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(ROW));
  b.push(...op.get(I), ...op.i32Const(2), ...op.i32Add(), ...op.set(I), ...op.br(0));
  b.push(...op.end(), ...op.end());
  return b;
}

function overRows(kind: 'rows' | 'cols' | 'sweep' | 'scale'): Bytes {
  const body: Bytes = [...op.get(K), ...op.i32Const(-8), ...op.i32And(), ...op.set(K8)];
  body.push(...op.get(KT), ...op.set(ROW), ...op.i32Const(0), ...op.set(I));
  if (kind === 'sweep') {
    for (const [local, value] of [
      [SMIN, Number.POSITIVE_INFINITY],
      [SMAX, Number.NEGATIVE_INFINITY],
      [AMIN, Number.POSITIVE_INFINITY],
      [AMAX, Number.NEGATIVE_INFINITY],
    ] as const)
      body.push(...op.f64Const(value), ...op.set(local));
    body.push(...sweepRowPairs());
  }
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(I), ...op.get(N), ...op.i32GeU(), ...op.brIf(1));
  if (kind !== 'cols') {
    body.push(...rowSum(), ...rowEntry(S), ...op.get(SUM), ...op.f64Store());
  }
  if (kind === 'sweep') {
    body.push(...rowEntry(T), ...op.f64Load(), ...op.get(SUM), ...op.f64Div(), ...op.set(AI));
    body.push(...rowEntry(A), ...op.get(AI), ...op.f64Store(), ...track(SUM, AI));
  }
  if (kind === 'cols' || kind === 'scale') body.push(...rowEntry(A), ...op.f64Load(), ...op.set(AI));
  if (kind === 'cols' || kind === 'sweep') body.push(...columnAccumulate());
  if (kind === 'scale') body.push(...scaleRow()); // K is the padded stride here: no tail
  body.push(...op.get(ROW), ...op.get(K), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(ROW));
  body.push(...op.get(I), ...op.i32Const(1), ...op.i32Add(), ...op.set(I), ...op.br(0));
  body.push(...op.end(), ...op.end());
  if (kind === 'sweep') {
    [SMIN, SMAX, AMIN, AMAX].forEach((local, slot) => {
      body.push(...op.get(COL), ...op.get(K), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add());
      body.push(...op.get(local), ...op.f64Store(slot * 8));
    });
  }
  return body;
}

// expAffine(src, n, k, f, g, dst, stride, scale): src[i·k + j] ← scale·src[i·k + j], then
// dst[i·stride + j] = exp(src[i·k + j] + f_i + g_j). (scale = 1 leaves src as it is: x·1 = x exactly.)
const X_SRC = 0;
const X_N = 1;
const X_K = 2;
const X_F = 3;
const X_G = 4;
const X_DST = 5;
const X_STRIDE = 6;
const X_SCALE = 7;
const X_I = 8;
const X_J = 9;
const X_P = 10;
const X_SROW = 11;
const X_DROW = 12;
const X_K2 = 13;
const X_FI = 14;
const X_X = 15;
const X_NN = 16;
const X_R = 17;
const X_Y = 18;
const X_Q = [19, 20, 21, 22, 23, 24, 25];
const X_R2 = 26;
const X_SC = 27;
const X_LS = 28;

const LOG2E = Math.LOG2E;
const LN2_HI = 0.6931471803691238; // ln 2 split so n·LN2_HI is exact (Cody–Waite)
const LN2_LO = 1.9082149292705877e-10;
/** Below this e^x is flushed to 0 (no subnormals; the solvers treat such entries exactly, from L). */
const EXP_MIN = -708;
const EXP_MAX = 709;

/**
 * Y = e^X for the two lanes of X (float64): X clamped to [−708, 709], X = n·ln2 + r with n = round(X·log2 e),
 * e^r by its degree-13 Taylor polynomial (|r| ≤ ln2/2: truncation < 5e-18), 2^n built from n's bits; lanes with
 * X < −708 give 0.
 * Within 2 ulps of Math.exp on [−708, 709]; above 709 it gives +∞ (the solvers then fall back to exact sums from L).
 */
function expOfX(k: (value: number) => Bytes): Bytes {
  const b: Bytes = [];
  b.push(...op.get(X_X), ...k(EXP_MIN), ...op.f64x2Pmax(), ...k(EXP_MAX), ...op.f64x2Pmin());
  b.push(...op.set(X_R)); // clamped x
  b.push(...op.get(X_R), ...k(LOG2E), ...op.f64x2Mul(), ...op.f64x2Nearest(), ...op.set(X_NN));
  b.push(...op.get(X_R), ...op.get(X_NN), ...k(LN2_HI), ...op.f64x2Mul(), ...op.f64x2Sub());
  b.push(...op.get(X_NN), ...k(LN2_LO), ...op.f64x2Mul(), ...op.f64x2Sub(), ...op.set(X_R));
  // e^r = Σ_{m ≤ 13} r^m/m! by Estrin's scheme (pairs, then r², r⁴, r⁸): a short dependency chain, so the
  // CPU overlaps it; Horner's 13 dependent multiply-adds made the exp latency-bound.
  const coef = (m: number) => {
    let f = 1;
    for (let i = 2; i <= m; i++) f *= i;
    return 1 / f;
  };
  for (let i = 0; i < 7; i++) {
    b.push(...op.get(X_R), ...k(coef(2 * i + 1)), ...op.f64x2Mul(), ...k(coef(2 * i)));
    b.push(...op.f64x2Add(), ...op.set(X_Q[i] as number));
  }
  const fold = (lo: number, hi: number, power: number) => [
    ...op.get(lo),
    ...op.get(hi),
    ...op.get(power),
    ...op.f64x2Mul(),
    ...op.f64x2Add(),
    ...op.set(lo),
  ];
  const square = (from: number, to: number) => [...op.get(from), ...op.get(from), ...op.f64x2Mul(), ...op.set(to)];
  const [q0, q1, q2, q3, q4, q5, q6] = X_Q as [number, number, number, number, number, number, number];
  b.push(...square(X_R, X_R2), ...fold(q0, q1, X_R2), ...fold(q2, q3, X_R2), ...fold(q4, q5, X_R2));
  b.push(...square(X_R2, X_R2), ...fold(q0, q2, X_R2), ...fold(q4, q6, X_R2)); // r⁴
  b.push(...square(X_R2, X_R2), ...fold(q0, q4, X_R2), ...op.get(q0), ...op.set(X_Y)); // r⁸
  // 2^n: n + 1023 sits in the low mantissa bits of n + (1023 + 2^52); shifted left by 52 it is the exponent field.
  b.push(...op.v128Const(), ...op.get(X_Y), ...op.get(X_NN), ...k(1023 + 2 ** 52), ...op.f64x2Add());
  b.push(...op.i32Const(52), ...op.i64x2Shl(), ...op.f64x2Mul());
  b.push(...op.get(X_X), ...k(EXP_MIN), ...op.f64x2Lt(), ...op.v128Bitselect(), ...op.set(X_Y));
  b.push(...k(Number.POSITIVE_INFINITY), ...op.get(X_Y));
  b.push(...op.get(X_X), ...k(EXP_MAX), ...op.f64x2Gt(), ...op.v128Bitselect(), ...op.set(X_Y));
  return b;
}

/** First local of the constant pool (after X_LS). */
const X_POOL = 29;

/**
 * The exp's constants, each splatted once into a local before the loop (as v128.const inside the loop they were
 * re-materialised on every pair).
 */
function constantPool(): { get: (value: number) => Bytes; init: () => Bytes; size: () => number } {
  const slots = new Map<number, number>();
  return {
    get: (value) => {
      const key = Object.is(value, -0) ? 0 : value;
      if (!slots.has(key)) slots.set(key, X_POOL + slots.size);
      return op.get(slots.get(key) as number);
    },
    init: () => [...slots].flatMap(([value, local]) => [...op.f64x2Const(value), ...op.set(local)]),
    size: () => slots.size,
  };
}

const expPool = constantPool();
const EXP_PAIR = expOfX(expPool.get);

function expAffineBody(): Bytes {
  const b: Bytes = [...expPool.init(), ...op.get(X_K), ...op.i32Const(-2), ...op.i32And(), ...op.set(X_K2)];
  b.push(...op.get(X_SCALE), ...op.f64x2Splat(), ...op.set(X_SC));
  b.push(...op.get(X_SRC), ...op.set(X_SROW), ...op.get(X_DST), ...op.set(X_DROW), ...op.i32Const(0), ...op.set(X_I));
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(X_I), ...op.get(X_N), ...op.i32GeU(), ...op.brIf(1));
  b.push(...op.get(X_F), ...op.get(X_I), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.f64Load());
  b.push(...op.f64x2Splat(), ...op.set(X_FI), ...op.i32Const(0), ...op.set(X_J));
  /** X = scale·src + f_i + g_j for the pair at J, the scaled src written back (both lanes, or lane 0 only). */
  const loadX = (bothLanes: boolean): Bytes => [
    ...op.get(X_J),
    ...op.i32Const(3),
    ...op.i32Shl(),
    ...op.set(X_P),
    ...op.get(X_SROW),
    ...op.get(X_P),
    ...op.i32Add(),
    ...op.v128Load(),
    ...op.get(X_SC),
    ...op.f64x2Mul(),
    ...op.set(X_LS),
    ...op.get(X_SROW),
    ...op.get(X_P),
    ...op.i32Add(),
    ...op.get(X_LS),
    ...(bothLanes ? op.v128Store() : [...op.f64x2ExtractLane(0), ...op.f64Store()]),
    ...op.get(X_LS),
    ...op.get(X_FI),
    ...op.f64x2Add(),
    ...op.get(X_G),
    ...op.get(X_P),
    ...op.i32Add(),
    ...op.v128Load(),
    ...op.f64x2Add(),
    ...op.set(X_X),
  ];
  const dst = (): Bytes => [...op.get(X_DROW), ...op.get(X_P), ...op.i32Add()];
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(X_J), ...op.get(X_K2), ...op.i32GeU(), ...op.brIf(1));
  b.push(...loadX(true), ...EXP_PAIR, ...dst(), ...op.get(X_Y), ...op.v128Store());
  b.push(...op.get(X_J), ...op.i32Const(2), ...op.i32Add(), ...op.set(X_J), ...op.br(0));
  b.push(...op.end(), ...op.end());
  // Odd K: the last entry (its pair's second lane reads past the row, into memory that exists; only lane 0 is kept).
  b.push(...op.get(X_J), ...op.get(X_K), ...op.i32LtS(), ...op.if());
  b.push(
    ...loadX(false),
    ...EXP_PAIR,
    ...dst(),
    ...op.get(X_Y),
    ...op.f64x2ExtractLane(0),
    ...op.f64Store(),
    ...op.end(),
  );
  b.push(...op.get(X_SROW), ...op.get(X_K), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(X_SROW));
  b.push(...op.get(X_DROW), ...op.get(X_STRIDE), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add());
  b.push(...op.set(X_DROW), ...op.get(X_I), ...op.i32Const(1), ...op.i32Add(), ...op.set(X_I), ...op.br(0));
  b.push(...op.end(), ...op.end());
  return b;
}

const PARAMS = new Array(8).fill(valType.i32);
const LOCALS = [
  ...new Array(5).fill(valType.i32), // I, J, ROW, K8, P
  valType.f64,
  valType.f64, // SUM, AI
  ...new Array(5).fill(valType.v128), // ACC0..3, VA
  valType.i32, // ROW2
  valType.f64,
  valType.f64, // SUM2, AI2
  ...new Array(6).fill(valType.v128), // ACC2 0..3, VA2, VE
  ...new Array(4).fill(valType.f64), // SMIN, SMAX, AMIN, AMAX
];

export function sweepModuleBytes(): Uint8Array<ArrayBuffer> {
  return encodeModule([
    ...(['rows', 'cols', 'sweep', 'scale'] as const).map((name) => ({
      name,
      params: PARAMS,
      results: [],
      locals: LOCALS,
      body: overRows(name),
    })),
    {
      name: 'expAffine',
      params: [...new Array(7).fill(valType.i32), valType.f64],
      results: [],
      locals: [...new Array(6).fill(valType.i32), ...new Array(15 + expPool.size()).fill(valType.v128)],
      body: expAffineBody(),
    },
  ]);
}

/** Host memory for one kernel: K̃ and the vectors the products read and write, as float64 views. */
export interface SweepArena {
  /** Row stride of `kt` (K, or K rounded up to 8 with zero padding so the SIMD loops have no scalar tail). */
  readonly stride: number;
  /** The log-kernel L, N×K row-major (no padding). */
  readonly L: Float64Array;
  /** K̃ = exp(L + f ⊕ g), N×stride. */
  readonly kt: Float64Array;
  /** Row / column offsets of `exp` (lengths N and stride). */
  readonly f: Float64Array;
  readonly g: Float64Array;
  /** Column scalings (length K), input of rows/sweep. */
  readonly e: Float64Array;
  /** Row targets (length N), input of sweep. */
  readonly t: Float64Array;
  /** Row sums (length N), output of rows/sweep. */
  readonly s: Float64Array;
  /** Row scalings (length N): output of sweep, input of cols. */
  readonly a: Float64Array;
  /** Column sums (length K), output of cols/sweep (zeroed by each call). */
  readonly col: Float64Array;
  /** After a sweep: [min s, max s, min a, max a] over the rows (NaN if any was NaN). */
  readonly stats: Float64Array;
  rows(): void;
  cols(): void;
  sweep(): void;
  /** kt_ij ← kt_ij·a_i·e_j (destroys the cache: the caller rebuilds it before further products). */
  scale(): void;
  /** L ← scale·L (default 1: unchanged), then kt = exp(L + f ⊕ g) (within 2 ulps of Math.exp on the SIMD path, where e^x is 0 below x = −708, ∞ above 709). */
  exp(scale?: number): void;
}

const PAGE = 65536;
const MAX_BYTES = 4 * 1024 * 1024 * 1024 - PAGE;
let compiled: WebAssembly.Module | null | undefined;

function sweepModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = sweepModuleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/**
 * A SIMD arena for an N×K kernel, or null where WebAssembly SIMD is unavailable or the kernel does not fit a
 * 32-bit memory (the caller then runs the same products in JavaScript). Each arena owns its memory, released
 * with the arena.
 */
export function createSweepArena(n: number, k: number): SweepArena | null {
  const module = sweepModule();
  const stride = Math.ceil(k / 8) * 8;
  const doubles = n * k + 2 + n * stride + 4 * n + 3 * stride + 4;
  if (!module || doubles * 8 > MAX_BYTES) return null;
  let instance: WebAssembly.Instance;
  let reused = false;
  if (spare && (spare.exports.memory as WebAssembly.Memory).buffer.byteLength >= doubles * 8) {
    instance = spare;
    spare = null;
    reused = true;
  } else {
    try {
      instance = new WebAssembly.Instance(module, {});
      const memory = instance.exports.memory as WebAssembly.Memory;
      const needed = Math.ceil((doubles * 8) / PAGE);
      if (needed > memory.buffer.byteLength / PAGE) memory.grow(needed - memory.buffer.byteLength / PAGE);
    } catch {
      return null; // out of memory for the arena: fall back to JavaScript loops
    }
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const exports = instance.exports as unknown as Record<string, (...args: number[]) => void>;
  const buffer = memory.buffer;
  let offset = 0;
  const take = (length: number) => {
    const view = new Float64Array(buffer, offset, length);
    offset += length * 8;
    return view;
  };
  const L = take(n * k);
  take(2); // the SIMD exp of an odd row's last entry reads one value past L
  const kt = take(n * stride);
  const f = take(n);
  const g = take(stride);
  const e = take(stride);
  const t = take(n);
  const s = take(n);
  const a = take(n);
  const col = take(stride);
  const stats = take(4);
  if (reused) {
    // Padding must be zero (0·pad enters every row sum); fresh memory already is.
    e.fill(0);
    if (stride > k) for (let i = 0; i < n; i++) kt.fill(0, i * stride + k, (i + 1) * stride);
  }
  const args = [kt.byteOffset, n, stride, e.byteOffset, t.byteOffset, s.byteOffset, a.byteOffset, col.byteOffset];
  const { rows, cols, sweep, scale, expAffine } = exports as Record<
    'rows' | 'cols' | 'sweep' | 'scale' | 'expAffine',
    (...args: number[]) => void
  >;
  return {
    stride,
    L,
    kt,
    f,
    g,
    e,
    t,
    s,
    a,
    col,
    stats,
    rows: () => rows(...args),
    cols: () => {
      col.fill(0);
      cols(...args);
    },
    sweep: () => {
      col.fill(0);
      sweep(...args);
    },
    exp: (scale = 1) => expAffine(L.byteOffset, n, k, f.byteOffset, g.byteOffset, kt.byteOffset, stride, scale),
    scale: () => scale(...args),
    [INSTANCE]: instance,
  } as SweepArena;
}

const INSTANCE = Symbol('instance');
/** Memory up to this size is kept for the next solve: a fresh one costs its page faults again. */
const SPARE_MAX_BYTES = 64 * 1024 * 1024;
let spare: WebAssembly.Instance | null = null;

/** Hands an arena's memory back for reuse (the arena must not be used afterwards). */
export function releaseArena(arena: SweepArena): void {
  const instance = (arena as SweepArena & { [INSTANCE]?: WebAssembly.Instance })[INSTANCE];
  if (!instance) return;
  if ((instance.exports.memory as WebAssembly.Memory).buffer.byteLength <= SPARE_MAX_BYTES) spare = instance;
}

/** The same products in plain JavaScript (no WebAssembly SIMD, or a kernel over 4 GiB). */
export function createJsArena(n: number, k: number): SweepArena {
  const L = new Float64Array(n * k);
  const f = new Float64Array(n);
  const g = new Float64Array(k);
  const kt = new Float64Array(n * k);
  const e = new Float64Array(k);
  const t = new Float64Array(n);
  const s = new Float64Array(n);
  const a = new Float64Array(n);
  const col = new Float64Array(k);
  const stats = new Float64Array(4);
  const rowSum = (base: number) => {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += kt[base + j]! * e[j]!;
    return sum;
  };
  const accumulate = (base: number, ai: number) => {
    for (let j = 0; j < k; j++) col[j]! += kt[base + j]! * ai;
  };
  return {
    stride: k,
    L,
    kt,
    f,
    g,
    e,
    t,
    s,
    a,
    col,
    stats,
    rows: () => {
      for (let i = 0; i < n; i++) s[i] = rowSum(i * k);
    },
    cols: () => {
      col.fill(0);
      for (let i = 0; i < n; i++) if (a[i] !== 0) accumulate(i * k, a[i]!);
    },
    sweep: () => {
      col.fill(0);
      stats.set([
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ]);
      for (let i = 0; i < n; i++) {
        const si = rowSum(i * k);
        s[i] = si;
        a[i] = t[i]! / si;
        accumulate(i * k, a[i]!);
        // Math.min/max propagate NaN, as wasm's f64.min/max do.
        stats[0] = Math.min(stats[0]!, si);
        stats[1] = Math.max(stats[1]!, si);
        stats[2] = Math.min(stats[2]!, a[i]!);
        stats[3] = Math.max(stats[3]!, a[i]!);
      }
    },
    scale: () => {
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) kt[i * k + j]! *= a[i]! * e[j]!;
    },
    exp: (scale = 1) => {
      for (let i = 0; i < n; i++) {
        const fi = f[i]!;
        for (let j = 0; j < k; j++) {
          const x = L[i * k + j]! * scale;
          L[i * k + j] = x;
          kt[i * k + j] = Math.exp(x + fi + g[j]!);
        }
      }
    },
  };
}

let useWasm = true;
/** Tests: run the JavaScript products instead of the SIMD module (both paths must give the same solves). */
export function setSweepEngine(engine: 'wasm' | 'js'): void {
  useWasm = engine === 'wasm';
}

export function createArena(n: number, k: number): SweepArena {
  return (useWasm ? createSweepArena(n, k) : null) ?? createJsArena(n, k);
}
