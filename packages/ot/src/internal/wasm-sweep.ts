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
 *   planF32:   P_ij = f32(K̃_ij a_i e_j)                 (the float32 plan, in place)
 *   allFinite: whether every entry of L is finite        (input validation without a JavaScript scan)
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
 * K must be a multiple of 8 (the arena's padded stride): the pair loops have no column tail.
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
const X_K2 = 13; // K rounded down to the two-pair step
const X_FI = 14;

/** The v128 locals of one pair's exp; two sets, so two independent pairs are in flight at once. */
interface ExpLocals {
  x: number;
  nn: number;
  r: number;
  y: number;
  hi: number;
  lo: number;
  rr: number;
  c: number;
  ls: number;
}
const expLocals = (base: number): ExpLocals => ({
  x: base,
  nn: base + 1,
  r: base + 2,
  y: base + 3,
  hi: base + 4,
  lo: base + 5,
  rr: base + 6,
  c: base + 7,
  ls: base + 8,
});
const EXP_A = expLocals(15);
const EXP_B = expLocals(24);
const X_SC = 33;
/** First local of the constant pool. */
const X_POOL = 34;

const LOG2E = Math.LOG2E;
const LN2_HI = 0.6931471803691238; // ln 2 split so n·LN2_HI is exact (Cody–Waite)
const LN2_LO = 1.9082149292705877e-10;
/** Below this e^x is flushed to 0 (no subnormals; the solvers treat such entries exactly, from L). */
const EXP_MIN = -708;
const EXP_MAX = 709;

/**
 * The Remez coefficients of fdlibm's e_exp.c (Sun Microsystems, 1993; also musl's exp.c): on |r| ≤ ln2/2,
 * R(r²) = r²·(P1 + r²·(P2 + … + r²·P5)) approximates r·(e^r + 1)/(e^r − 1) − 2 to within 2^−59. (Written as the
 * shortest decimals of the same doubles.)
 */
const EXP_P = [
  0.16666666666666602, -0.0027777777777015593, 0.00006613756321437934, -0.0000016533902205465252, 4.1381367970572385e-8,
];

/**
 * y = e^x for the two lanes of x (float64), as fdlibm's exp: x clamped to [−708, 709], x = n·ln2 + r with
 * n = round(x·log2 e) and r = hi − lo (Cody–Waite), c = r − R(r²), e^r = 1 + (r·c/(2 − c) − lo + hi), then 2^n
 * built from n's bits; lanes with x < −708 give 0, above 709 +∞ (the solvers then fall back to exact sums from L).
 * Within 2 ulps of Math.exp on [−708, 709] (tested; fdlibm bounds it below 1 ulp). The rational form needs a
 * degree-5 polynomial in r² where a Taylor series needs degree 13 in r.
 *
 * Returned as statements (each leaves the stack empty) so two pairs' can be interleaved: one pair's chain of
 * dependent operations is long, and the CPU's scheduler only overlaps what it sees close together.
 */
function expStatements(v: ExpLocals, k: (value: number) => Bytes): Bytes[] {
  const poly: Bytes = [...k(EXP_P[4]!)];
  for (let i = 3; i >= 0; i--) poly.push(...op.get(v.rr), ...op.f64x2Mul(), ...k(EXP_P[i]!), ...op.f64x2Add());
  return [
    [...op.get(v.x), ...k(EXP_MIN), ...op.f64x2Pmax(), ...k(EXP_MAX), ...op.f64x2Pmin(), ...op.set(v.r)],
    [...op.get(v.r), ...k(LOG2E), ...op.f64x2Mul(), ...op.f64x2Nearest(), ...op.set(v.nn)],
    [...op.get(v.r), ...op.get(v.nn), ...k(LN2_HI), ...op.f64x2Mul(), ...op.f64x2Sub(), ...op.set(v.hi)],
    [...op.get(v.nn), ...k(LN2_LO), ...op.f64x2Mul(), ...op.set(v.lo)],
    [...op.get(v.hi), ...op.get(v.lo), ...op.f64x2Sub(), ...op.set(v.r)],
    [...op.get(v.r), ...op.get(v.r), ...op.f64x2Mul(), ...op.set(v.rr)],
    // c = r − r²·(P1 + r²·(P2 + r²·(P3 + r²·(P4 + r²·P5))))
    [...op.get(v.r), ...poly, ...op.get(v.rr), ...op.f64x2Mul(), ...op.f64x2Sub(), ...op.set(v.c)],
    // e^r = 1 + ((r·c / (2 − c) − lo) + hi)
    [
      ...k(1),
      ...op.get(v.r),
      ...op.get(v.c),
      ...op.f64x2Mul(),
      ...k(2),
      ...op.get(v.c),
      ...op.f64x2Sub(),
      ...op.f64x2Div(),
      ...op.get(v.lo),
      ...op.f64x2Sub(),
      ...op.get(v.hi),
      ...op.f64x2Add(),
      ...op.f64x2Add(),
      ...op.set(v.y),
    ],
    // 2^n: n + 1023 sits in the low mantissa bits of n + (1023 + 2^52); shifted left by 52 it is the exponent field.
    [
      ...op.v128Const(),
      ...op.get(v.y),
      ...op.get(v.nn),
      ...k(1023 + 2 ** 52),
      ...op.f64x2Add(),
      ...op.i32Const(52),
      ...op.i64x2Shl(),
      ...op.f64x2Mul(),
      ...op.get(v.x),
      ...k(EXP_MIN),
      ...op.f64x2Lt(),
      ...op.v128Bitselect(),
      ...op.set(v.y),
    ],
    [
      ...k(Number.POSITIVE_INFINITY),
      ...op.get(v.y),
      ...op.get(v.x),
      ...k(EXP_MAX),
      ...op.f64x2Gt(),
      ...op.v128Bitselect(),
      ...op.set(v.y),
    ],
  ];
}

/** The two lists' statements alternately. */
const interleave = (a: Bytes[], b: Bytes[]): Bytes => a.flatMap((s, i) => [...s, ...(b[i] ?? [])]);

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
const EXP_STATEMENTS_A = expStatements(EXP_A, expPool.get);
const EXP_STATEMENTS_B = expStatements(EXP_B, expPool.get);

function expAffineBody(): Bytes {
  const b: Bytes = [...expPool.init(), ...op.get(X_K), ...op.i32Const(-4), ...op.i32And(), ...op.set(X_K2)];
  b.push(...op.get(X_SCALE), ...op.f64x2Splat(), ...op.set(X_SC));
  b.push(...op.get(X_SRC), ...op.set(X_SROW), ...op.get(X_DST), ...op.set(X_DROW), ...op.i32Const(0), ...op.set(X_I));
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(X_I), ...op.get(X_N), ...op.i32GeU(), ...op.brIf(1));
  b.push(...op.get(X_F), ...op.get(X_I), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.f64Load());
  b.push(...op.f64x2Splat(), ...op.set(X_FI), ...op.i32Const(0), ...op.set(X_J));
  const setP: Bytes = [...op.get(X_J), ...op.i32Const(3), ...op.i32Shl(), ...op.set(X_P)];
  const at = (base: number): Bytes => [...op.get(base), ...op.get(X_P), ...op.i32Add()];
  /** x = scale·src + f_i + g_j for the pair at byte P + offset, the scaled src written back (both lanes, or lane 0). */
  const loadX = (v: ExpLocals, offset: number, bothLanes: boolean): Bytes[] => [
    [...at(X_SROW), ...op.v128Load(offset), ...op.get(X_SC), ...op.f64x2Mul(), ...op.set(v.ls)],
    [
      ...at(X_SROW),
      ...op.get(v.ls),
      ...(bothLanes ? op.v128Store(offset) : [...op.f64x2ExtractLane(0), ...op.f64Store(offset)]),
    ],
    [
      ...op.get(v.ls),
      ...op.get(X_FI),
      ...op.f64x2Add(),
      ...at(X_G),
      ...op.v128Load(offset),
      ...op.f64x2Add(),
      ...op.set(v.x),
    ],
  ];
  const store = (v: ExpLocals, offset: number): Bytes => [...at(X_DROW), ...op.get(v.y), ...op.v128Store(offset)];
  // Two pairs per step, their statements interleaved.
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(X_J), ...op.get(X_K2), ...op.i32GeU(), ...op.brIf(1), ...setP);
  b.push(...interleave(loadX(EXP_A, 0, true), loadX(EXP_B, 16, true)));
  b.push(...interleave(EXP_STATEMENTS_A, EXP_STATEMENTS_B), ...store(EXP_A, 0), ...store(EXP_B, 16));
  b.push(...op.get(X_J), ...op.i32Const(4), ...op.i32Add(), ...op.set(X_J), ...op.br(0));
  b.push(...op.end(), ...op.end());
  // One more pair when K mod 4 ≥ 2.
  b.push(...op.get(X_J), ...op.i32Const(1), ...op.i32Add(), ...op.get(X_K), ...op.i32LtS(), ...op.if(), ...setP);
  b.push(...loadX(EXP_A, 0, true).flat(), ...EXP_STATEMENTS_A.flat(), ...store(EXP_A, 0));
  b.push(...op.get(X_J), ...op.i32Const(2), ...op.i32Add(), ...op.set(X_J), ...op.end());
  // Odd K: the last entry (its pair's second lane reads past the row, into memory that exists; only lane 0 is kept).
  b.push(...op.get(X_J), ...op.get(X_K), ...op.i32LtS(), ...op.if(), ...setP);
  b.push(...loadX(EXP_A, 0, false).flat(), ...EXP_STATEMENTS_A.flat());
  b.push(...at(X_DROW), ...op.get(EXP_A.y), ...op.f64x2ExtractLane(0), ...op.f64Store(), ...op.end());
  b.push(...op.get(X_SROW), ...op.get(X_K), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(X_SROW));
  b.push(...op.get(X_DROW), ...op.get(X_STRIDE), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add());
  b.push(...op.set(X_DROW), ...op.get(X_I), ...op.i32Const(1), ...op.i32Add(), ...op.set(X_I), ...op.br(0));
  b.push(...op.end(), ...op.end());
  return b;
}

// allFinite(src, count) → Σ src[i]·0: 0 when every f64 is finite, NaN otherwise.
const F_SRC = 0;
const F_END = 1;
const F_ZERO = 2;
const F_ACC = [3, 4];
const F_SUM = 5;

function allFiniteBody(): Bytes {
  const b: Bytes = [...op.v128Const(), ...op.set(F_ZERO), ...op.v128Const(), ...op.set(F_ACC[0]!)];
  b.push(...op.v128Const(), ...op.set(F_ACC[1]!), ...op.f64Const(0), ...op.set(F_SUM));
  // F_END = src + count·8, then blocks of 8 while src + 64 ≤ end
  b.push(...op.get(F_SRC), ...op.get(F_END), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(F_END));
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(F_SRC), ...op.i32Const(64), ...op.i32Add(), ...op.get(F_END), ...op.i32GtU(), ...op.brIf(1));
  UNROLL_OFFSETS.forEach((offset, h) => {
    const acc = F_ACC[h % 2]!;
    b.push(...op.get(acc), ...op.get(F_SRC), ...op.v128Load(offset), ...op.get(F_ZERO), ...op.f64x2Mul());
    b.push(...op.f64x2Add(), ...op.set(acc));
  });
  b.push(...op.get(F_SRC), ...op.i32Const(64), ...op.i32Add(), ...op.set(F_SRC), ...op.br(0));
  b.push(...op.end(), ...op.end());
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(F_SRC), ...op.get(F_END), ...op.i32GeU(), ...op.brIf(1));
  b.push(...op.get(F_SUM), ...op.get(F_SRC), ...op.f64Load(), ...op.f64Const(0), ...op.f64Mul(), ...op.f64Add());
  b.push(...op.set(F_SUM), ...op.get(F_SRC), ...op.i32Const(8), ...op.i32Add(), ...op.set(F_SRC), ...op.br(0));
  b.push(...op.end(), ...op.end());
  b.push(...op.get(F_ACC[0]!), ...op.get(F_ACC[1]!), ...op.f64x2Add(), ...op.set(F_ACC[0]!));
  b.push(...op.get(F_SUM), ...op.get(F_ACC[0]!), ...op.f64x2ExtractLane(0), ...op.f64Add());
  b.push(...op.get(F_ACC[0]!), ...op.f64x2ExtractLane(1), ...op.f64Add());
  return b;
}

// planF32(kt, n, stride, e, a, out, columns): out[i·columns + j] = f32(kt[i·stride + j]·a_i·e_j). `out` may be
// `kt` itself: each pair is read before its (half as wide, never further along) float32 result is written.
const Q_KT = 0;
const Q_N = 1;
const Q_STRIDE = 2;
const Q_E = 3;
const Q_A = 4;
const Q_OUT = 5;
const Q_COLS = 6;
const Q_I = 7;
const Q_J = 8;
const Q_ROW = 9;
const Q_DST = 10;
const Q_COLS2 = 11;
const Q_VA = 12;
const Q_PAIR = 13;

function planF32Body(): Bytes {
  const b: Bytes = [...op.get(Q_COLS), ...op.i32Const(-2), ...op.i32And(), ...op.set(Q_COLS2)];
  b.push(...op.get(Q_KT), ...op.set(Q_ROW), ...op.get(Q_OUT), ...op.set(Q_DST), ...op.i32Const(0), ...op.set(Q_I));
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(Q_I), ...op.get(Q_N), ...op.i32GeU(), ...op.brIf(1));
  b.push(...op.get(Q_A), ...op.get(Q_I), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.f64Load());
  b.push(...op.f64x2Splat(), ...op.set(Q_VA), ...op.i32Const(0), ...op.set(Q_J));
  /** Q_PAIR = f32x4(demote(row[j..j+1]·a_i·e[j..j+1])) */
  const pair: Bytes = [
    ...op.get(Q_ROW),
    ...op.get(Q_J),
    ...op.i32Const(3),
    ...op.i32Shl(),
    ...op.i32Add(),
    ...op.v128Load(),
    ...op.get(Q_VA),
    ...op.f64x2Mul(),
    ...op.get(Q_E),
    ...op.get(Q_J),
    ...op.i32Const(3),
    ...op.i32Shl(),
    ...op.i32Add(),
    ...op.v128Load(),
    ...op.f64x2Mul(),
    ...op.f32x4DemoteF64x2Zero(),
    ...op.set(Q_PAIR),
  ];
  const dst = (): Bytes => [...op.get(Q_DST), ...op.get(Q_J), ...op.i32Const(2), ...op.i32Shl(), ...op.i32Add()];
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(Q_J), ...op.get(Q_COLS2), ...op.i32GeU(), ...op.brIf(1));
  b.push(...pair, ...dst(), ...op.get(Q_PAIR), ...op.v128Store64Lane(0));
  b.push(...op.get(Q_J), ...op.i32Const(2), ...op.i32Add(), ...op.set(Q_J), ...op.br(0));
  b.push(...op.end(), ...op.end());
  // Odd column count: the last entry alone (its pair's second lane reads the zero padding of e).
  b.push(...op.get(Q_J), ...op.get(Q_COLS), ...op.i32LtS(), ...op.if());
  b.push(...pair, ...dst(), ...op.get(Q_PAIR), ...op.f32x4ExtractLane(0), ...op.f32Store(), ...op.end());
  b.push(...op.get(Q_ROW), ...op.get(Q_STRIDE), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(Q_ROW));
  b.push(...op.get(Q_DST), ...op.get(Q_COLS), ...op.i32Const(2), ...op.i32Shl(), ...op.i32Add(), ...op.set(Q_DST));
  b.push(...op.get(Q_I), ...op.i32Const(1), ...op.i32Add(), ...op.set(Q_I), ...op.br(0));
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
      locals: [...new Array(6).fill(valType.i32), ...new Array(X_POOL - X_FI + expPool.size()).fill(valType.v128)],
      body: expAffineBody(),
    },
    {
      name: 'allFinite',
      params: [valType.i32, valType.i32],
      results: [valType.f64],
      locals: [valType.v128, valType.v128, valType.v128, valType.f64],
      body: allFiniteBody(),
    },
    {
      name: 'planF32',
      params: new Array(7).fill(valType.i32),
      results: [],
      locals: [...new Array(5).fill(valType.i32), valType.v128, valType.v128],
      body: planF32Body(),
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
  /**
   * The plan as float32, N×columns row-major: f32(kt_ij·a_i·e_j) for j < columns, in a new array (destroys the
   * cache, as `scale` does).
   */
  planF32(columns: number): Float32Array;
  /** Whether every entry of L is finite. */
  allFinite(): boolean;
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
  const { rows, cols, sweep, scale, expAffine, planF32, allFinite } = exports as Record<
    'rows' | 'cols' | 'sweep' | 'scale' | 'expAffine' | 'planF32' | 'allFinite',
    (...args: number[]) => number
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
    planF32: (columns: number) => {
      planF32(kt.byteOffset, n, stride, e.byteOffset, a.byteOffset, kt.byteOffset, columns);
      return new Float32Array(buffer, kt.byteOffset, n * columns).slice();
    },
    allFinite: () => allFinite(L.byteOffset, n * k) === 0,
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
    planF32: (columns: number) => {
      const out = new Float32Array(n * columns);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < columns; j++) out[i * columns + j] = kt[i * k + j]! * a[i]! * e[j]!;
      return out;
    },
    allFinite: () => {
      for (let i = 0; i < L.length; i++) if (!Number.isFinite(L[i]!)) return false;
      return true;
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
