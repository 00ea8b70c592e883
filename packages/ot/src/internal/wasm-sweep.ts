import { type Bytes, encodeModule, op, valType } from '@distillery/tensor/wasm';

/**
 * The matrix-vector products of the scaled Sinkhorn iteration, as a small hand-written WebAssembly SIMD (f64x2)
 * module over a row-major float64 kernel K̃ (N×K):
 *
 *   rows:   s_i = Σ_j K̃_ij e_j
 *   cols:   c_j = Σ_i K̃_ij a_i                       (c accumulates: zero it first)
 *   sweep:  s_i = Σ_j K̃_ij e_j,  a_i = t_i / s_i,  c_j += K̃_ij a_i
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

function overRows(kind: 'rows' | 'cols' | 'sweep'): Bytes {
  const body: Bytes = [...op.get(K), ...op.i32Const(-8), ...op.i32And(), ...op.set(K8)];
  body.push(...op.get(KT), ...op.set(ROW), ...op.i32Const(0), ...op.set(I));
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(I), ...op.get(N), ...op.i32GeU(), ...op.brIf(1));
  if (kind !== 'cols') {
    body.push(...rowSum(), ...rowEntry(S), ...op.get(SUM), ...op.f64Store());
  }
  if (kind === 'sweep') {
    body.push(...rowEntry(T), ...op.f64Load(), ...op.get(SUM), ...op.f64Div(), ...op.set(AI));
    body.push(...rowEntry(A), ...op.get(AI), ...op.f64Store());
  }
  if (kind === 'cols') body.push(...rowEntry(A), ...op.f64Load(), ...op.set(AI));
  if (kind !== 'rows') body.push(...columnAccumulate());
  body.push(...op.get(ROW), ...op.get(K), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.set(ROW));
  body.push(...op.get(I), ...op.i32Const(1), ...op.i32Add(), ...op.set(I), ...op.br(0));
  body.push(...op.end(), ...op.end());
  return body;
}

// expAffine(src, n, k, f, g, dst, stride): dst[i·stride + j] = exp(src[i·k + j] + f_i + g_j).
const X_SRC = 0;
const X_N = 1;
const X_K = 2;
const X_F = 3;
const X_G = 4;
const X_DST = 5;
const X_STRIDE = 6;
const X_I = 7;
const X_J = 8;
const X_P = 9;
const X_SROW = 10;
const X_DROW = 11;
const X_K2 = 12;
const X_FI = 13;
const X_X = 14;
const X_NN = 15;
const X_R = 16;
const X_Y = 17;

const LOG2E = Math.LOG2E;
const LN2_HI = 0.6931471803691238; // ln 2 split so n·LN2_HI is exact (Cody–Waite)
const LN2_LO = 1.9082149292705877e-10;
/** Below this e^x is flushed to 0 (no subnormals; the solvers treat such entries exactly, from L). */
const EXP_MIN = -708;
const EXP_MAX = 709;
const TAYLOR_DEGREE = 13; // |r| ≤ ln2/2: truncation error r^14/14! < 5e-18

/**
 * Y = e^X for the two lanes of X (float64): X clamped to [−708, 709], X = n·ln2 + r with n = round(X·log2 e),
 * e^r by its degree-13 Taylor polynomial (Horner), 2^n built from n's bits; lanes with X < −708 give 0.
 * Within 2 ulps of Math.exp on [−708, 709]; above 709 it gives +∞ (the solvers then fall back to exact sums from L).
 */
function expOfX(): Bytes {
  const b: Bytes = [];
  b.push(...op.get(X_X), ...op.f64x2Const(EXP_MIN), ...op.f64x2Max(), ...op.f64x2Const(EXP_MAX), ...op.f64x2Min());
  b.push(...op.set(X_R)); // clamped x
  b.push(...op.get(X_R), ...op.f64x2Const(LOG2E), ...op.f64x2Mul(), ...op.f64x2Nearest(), ...op.set(X_NN));
  b.push(...op.get(X_R), ...op.get(X_NN), ...op.f64x2Const(LN2_HI), ...op.f64x2Mul(), ...op.f64x2Sub());
  b.push(...op.get(X_NN), ...op.f64x2Const(LN2_LO), ...op.f64x2Mul(), ...op.f64x2Sub(), ...op.set(X_R));
  let factorial = 1;
  for (let m = 2; m <= TAYLOR_DEGREE; m++) factorial *= m;
  b.push(...op.f64x2Const(1 / factorial), ...op.set(X_Y));
  for (let m = TAYLOR_DEGREE - 1; m >= 0; m--) {
    factorial /= m + 1;
    b.push(...op.get(X_Y), ...op.get(X_R), ...op.f64x2Mul(), ...op.f64x2Const(1 / factorial), ...op.f64x2Add());
    b.push(...op.set(X_Y));
  }
  // 2^n: n + 1023 sits in the low mantissa bits of n + (1023 + 2^52); shifted left by 52 it is the exponent field.
  b.push(...op.v128Const(), ...op.get(X_Y), ...op.get(X_NN), ...op.f64x2Const(1023 + 2 ** 52), ...op.f64x2Add());
  b.push(...op.i32Const(52), ...op.i64x2Shl(), ...op.f64x2Mul());
  b.push(...op.get(X_X), ...op.f64x2Const(EXP_MIN), ...op.f64x2Lt(), ...op.v128Bitselect(), ...op.set(X_Y));
  b.push(...op.f64x2Const(Number.POSITIVE_INFINITY), ...op.get(X_Y));
  b.push(...op.get(X_X), ...op.f64x2Const(EXP_MAX), ...op.f64x2Gt(), ...op.v128Bitselect(), ...op.set(X_Y));
  return b;
}

function expAffineBody(): Bytes {
  const b: Bytes = [...op.get(X_K), ...op.i32Const(-2), ...op.i32And(), ...op.set(X_K2)];
  b.push(...op.get(X_SRC), ...op.set(X_SROW), ...op.get(X_DST), ...op.set(X_DROW), ...op.i32Const(0), ...op.set(X_I));
  b.push(...op.block(), ...op.loop());
  b.push(...op.get(X_I), ...op.get(X_N), ...op.i32GeU(), ...op.brIf(1));
  b.push(...op.get(X_F), ...op.get(X_I), ...op.i32Const(3), ...op.i32Shl(), ...op.i32Add(), ...op.f64Load());
  b.push(...op.f64x2Splat(), ...op.set(X_FI), ...op.i32Const(0), ...op.set(X_J));
  const loadX = (): Bytes => [
    ...op.get(X_J),
    ...op.i32Const(3),
    ...op.i32Shl(),
    ...op.set(X_P),
    ...op.get(X_SROW),
    ...op.get(X_P),
    ...op.i32Add(),
    ...op.v128Load(),
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
  b.push(...loadX(), ...expOfX(), ...dst(), ...op.get(X_Y), ...op.v128Store());
  b.push(...op.get(X_J), ...op.i32Const(2), ...op.i32Add(), ...op.set(X_J), ...op.br(0));
  b.push(...op.end(), ...op.end());
  // Odd K: the last entry (its pair's second lane reads past the row, into memory that exists; only lane 0 is kept).
  b.push(...op.get(X_J), ...op.get(X_K), ...op.i32LtS(), ...op.if());
  b.push(...loadX(), ...expOfX(), ...dst(), ...op.get(X_Y), ...op.f64x2ExtractLane(0), ...op.f64Store(), ...op.end());
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
];

export function sweepModuleBytes(): Uint8Array<ArrayBuffer> {
  return encodeModule([
    ...(['rows', 'cols', 'sweep'] as const).map((name) => ({
      name,
      params: PARAMS,
      results: [],
      locals: LOCALS,
      body: overRows(name),
    })),
    {
      name: 'expAffine',
      params: new Array(7).fill(valType.i32),
      results: [],
      locals: [...new Array(6).fill(valType.i32), ...new Array(5).fill(valType.v128)],
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
  rows(): void;
  cols(): void;
  sweep(): void;
  /** kt = exp(L + f ⊕ g) (within 2 ulps of Math.exp on the SIMD path, where e^x is 0 below x = −708, ∞ above 709). */
  exp(): void;
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
  const doubles = n * k + 2 + n * stride + 4 * n + 3 * stride;
  if (!module || doubles * 8 > MAX_BYTES) return null;
  let memory: WebAssembly.Memory;
  let exports: Record<string, (...args: number[]) => void>;
  try {
    const instance = new WebAssembly.Instance(module, {});
    memory = instance.exports.memory as WebAssembly.Memory;
    const needed = Math.ceil((doubles * 8) / PAGE);
    if (needed > memory.buffer.byteLength / PAGE) memory.grow(needed - memory.buffer.byteLength / PAGE);
    exports = instance.exports as unknown as Record<string, (...args: number[]) => void>;
  } catch {
    return null; // out of memory for the arena: fall back to JavaScript loops
  }
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
  const args = [kt.byteOffset, n, stride, e.byteOffset, t.byteOffset, s.byteOffset, a.byteOffset, col.byteOffset];
  const { rows, cols, sweep, expAffine } = exports as Record<
    'rows' | 'cols' | 'sweep' | 'expAffine',
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
    rows: () => rows(...args),
    cols: () => {
      col.fill(0);
      cols(...args);
    },
    sweep: () => {
      col.fill(0);
      sweep(...args);
    },
    exp: () => expAffine(L.byteOffset, n, k, f.byteOffset, g.byteOffset, kt.byteOffset, stride),
  };
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
    rows: () => {
      for (let i = 0; i < n; i++) s[i] = rowSum(i * k);
    },
    cols: () => {
      col.fill(0);
      for (let i = 0; i < n; i++) if (a[i] !== 0) accumulate(i * k, a[i]!);
    },
    sweep: () => {
      col.fill(0);
      for (let i = 0; i < n; i++) {
        const si = rowSum(i * k);
        s[i] = si;
        a[i] = t[i]! / si;
        accumulate(i * k, a[i]!);
      }
    },
    exp: () => {
      for (let i = 0; i < n; i++) {
        const fi = f[i]!;
        for (let j = 0; j < k; j++) kt[i * k + j] = Math.exp(L[i * k + j]! + fi + g[j]!);
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
