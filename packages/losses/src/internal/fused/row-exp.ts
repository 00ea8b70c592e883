import { type Bytes, encodeModule, op, valType } from '@distillery/tensor/wasm';

/**
 * The two row primitives of the fused softmax losses, on WebAssembly SIMD (f32x4), with a plain-JavaScript twin:
 *
 *     rowMax(src, n)                      max_i src[i]
 *     expSum(src, dst, n, scale, shift)   dst[i] = exp(scale·src[i] − shift), returns Σ_i dst[i] (float64 sum)
 *     comb3(x, y, z, dst, n, a, b, c, d)  dst[i] = a·x[i] + b·y[i] + c·z[i] + d
 *     dot(q, a, b, n, sa, ma, sb, mb)     Σ_i q[i]·((sa·a[i] − ma) − (sb·b[i] − mb))
 *
 * Indices are float32 element offsets into the arena's `f32` view. The SIMD path runs the first ⌊n/4⌋·4 entries in
 * the module and the rest in JavaScript. exp is Cephes' expf (range reduction by ln 2 in two parts, degree-5
 * polynomial; within ~1 ulp of float32 on [−87.3, 88.4]); inputs below −87.33 give exactly 0, above 88.37 they are
 * clamped (a softmax shifted by its maximum never gets there); NaN stays NaN, so a NaN logit makes the loss NaN
 * (rowMax skips NaN, expSum carries it). The rounding to n uses the 1.5·2^23 trick, not nearest + trunc_sat (both
 * several instructions on x86), and the clamps are pmin/pmax (one each). These two passes are where a softmax loss spends its
 * time: V8's Math.exp is ~10× slower than four SIMD lanes.
 */
export interface RowArena {
  /** The arena's float32 view (replaced when the arena grows: read it after `reserve`). */
  f32: Float32Array;
  /** Makes room for `floats` float32 entries (views taken before are stale afterwards). */
  reserve(floats: number): void;
  rowMax(src: number, n: number): number;
  expSum(src: number, dst: number, n: number, scale: number, shift: number): number;
  /** dst[i] = a·x[i] + b·y[i] + c·z[i] + d (float32). */
  comb3(x: number, y: number, z: number, dst: number, n: number, a: number, b: number, c: number, d: number): void;
  /**
   * Σ_i q[i]·((a[i]·sa − ma) − (b[i]·sb − mb)), each bracket rounded to float32 as expSum rounds its argument (so
   * that, e.g., log q − log p of two softmaxes is exactly 0 where they agree); the product and the sum in float64.
   */
  dot(q: number, a: number, b: number, n: number, sa: number, ma: number, sb: number, mb: number): number;
  readonly simd: boolean;
}

const simd = (code: number): Bytes => [0xfd, ...uleb32(code)];
function uleb32(value: number): Bytes {
  const out: Bytes = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}
const X = {
  f32x4Splat: () => simd(0x13),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  f32x4Lt: () => simd(0x43),
  v128AndNot: () => simd(0x4f),
  f64x2PromoteLow: () => simd(0x5f),
  i32x4Shl: () => simd(0xab),
  i32x4Add: () => simd(0xae),
  f32x4Add: () => simd(0xe4),
  f32x4Sub: () => simd(0xe5),
  f32x4Mul: () => simd(0xe6),
  /** pmin(a, b) = b < a ? b : a; pmax(a, b) = a < b ? b : a: one instruction each on x86, and a NaN in `a` stays. */
  f32x4Pmin: () => simd(0xea),
  f32x4Pmax: () => simd(0xeb),
  f32Const: (v: number): Bytes => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)],
  f32Max: (): Bytes => [0x97],
  f64Add: (): Bytes => [0xa0],
  i32Const: (v: number) => op.i32Const(v),
};
const f32x4Const = (v: number): Bytes => [...X.f32Const(v), ...X.f32x4Splat()];
const i32x4Const = (v: number): Bytes => [...X.i32Const(v), ...simd(0x11)]; // i32x4.splat

// Cephes expf constants.
const EXP_HI = 88.3762626647949;
const EXP_LO = -87.3365478515625;
const LOG2E = Math.LOG2E;
const C1 = 0.693359375;
const C2 = -2.1219444e-4;
/** 1.5·2^23: adding it rounds to an integer n, held in the low mantissa bits (bits(MAGIC) = 0x4b400000). */
const MAGIC = 12582912;
const P = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

function expSumBody(): Bytes {
  // params: src 0, dst 1, n 2, scale 3 (f32), shift 4 (f32). locals: end 5 (i32); v128: vs 6, vsh 7, acc0 8,
  // acc1 9, x 10, fx 11, r 12, y 13, keep 14, then the constants.
  const [SRC, DST, N, SCALE, SHIFT, END, VS, VSH, ACC0, ACC1, XV, FX, R, Y, KEEP, N2] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  ] as const;
  const consts = [EXP_HI, EXP_LO, LOG2E, C1, C2, ...P, 1, MAGIC];
  const K = (v: number) => op.get(16 + consts.indexOf(v));
  const b: Bytes = [];
  const emit = (...parts: Bytes[]) => {
    for (const p of parts) b.push(...p);
  };
  for (const [i, v] of consts.entries()) emit(f32x4Const(v), op.set(16 + i));
  emit(op.get(SRC), op.get(N), op.i32Const(2), op.i32Shl(), op.i32Add(), op.set(END));
  emit(op.get(SCALE), X.f32x4Splat(), op.set(VS), op.get(SHIFT), X.f32x4Splat(), op.set(VSH));
  emit(op.v128Const(), op.set(ACC0), op.v128Const(), op.set(ACC1));
  emit(op.block(), op.loop());
  emit(op.get(SRC), op.get(END), op.i32GeU(), op.brIf(1));
  // x = scale·src − shift; under = x < LO (NaN is not: it stays NaN); x = clamp(x) (NaN stays NaN)
  emit(op.get(SRC), op.v128Load(0), op.get(VS), X.f32x4Mul(), op.get(VSH), X.f32x4Sub(), op.set(XV));
  emit(op.get(XV), K(EXP_LO), X.f32x4Lt(), op.set(KEEP));
  emit(op.get(XV), K(EXP_HI), X.f32x4Pmin(), K(EXP_LO), X.f32x4Pmax(), op.set(XV));
  // t = x·log2e + MAGIC (n = round(x·log2e) in its low bits), fx = t − MAGIC; r = x − fx·C1 − fx·C2
  emit(op.get(XV), K(LOG2E), X.f32x4Mul(), K(MAGIC), X.f32x4Add(), op.tee(FX), op.set(N2));
  emit(op.get(FX), K(MAGIC), X.f32x4Sub(), op.set(FX));
  emit(op.get(XV), op.get(FX), K(C1), X.f32x4Mul(), X.f32x4Sub(), op.get(FX), K(C2), X.f32x4Mul(), X.f32x4Sub());
  emit(op.set(R));
  // y = ((((p0·r + p1)·r + p2)·r + p3)·r + p4)·r + p5; y = y·r² + r + 1
  emit(K(P[0] as number));
  for (let i = 1; i < P.length; i++) emit(op.get(R), X.f32x4Mul(), K(P[i] as number), X.f32x4Add());
  emit(op.get(R), op.get(R), X.f32x4Mul(), X.f32x4Mul(), op.get(R), X.f32x4Add(), K(1), X.f32x4Add(), op.set(Y));
  // 2^n through the exponent field: (n + 127) << 23 = (bits(t) − 0x4b400000 + 127) << 23; 0 below LO
  emit(op.get(Y), op.get(N2), i32x4Const(127 - 0x4b400000), X.i32x4Add(), X.i32Const(23), X.i32x4Shl());
  emit(X.f32x4Mul(), op.get(KEEP), X.v128AndNot(), op.set(Y));
  emit(op.get(DST), op.get(Y), op.v128Store(0));
  emit(op.get(ACC0), op.get(Y), X.f64x2PromoteLow(), op.f64x2Add(), op.set(ACC0));
  const high = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  emit(op.get(ACC1), op.get(Y), op.get(Y), op.i8x16Shuffle(high), X.f64x2PromoteLow(), op.f64x2Add(), op.set(ACC1));
  emit(op.get(SRC), op.i32Const(16), op.i32Add(), op.set(SRC), op.get(DST), op.i32Const(16), op.i32Add(), op.set(DST));
  emit(op.br(0), op.end(), op.end());
  emit(op.get(ACC0), op.get(ACC1), op.f64x2Add(), op.set(ACC0));
  emit(op.get(ACC0), op.f64x2ExtractLane(0), op.get(ACC0), op.f64x2ExtractLane(1), X.f64Add());
  return b;
}

function rowMaxBody(): Bytes {
  // params: src 0, n 1. locals: end 2 (i32), acc 3 (v128).
  const b: Bytes = [];
  const emit = (...parts: Bytes[]) => {
    for (const p of parts) b.push(...p);
  };
  emit(op.get(0), op.get(1), op.i32Const(2), op.i32Shl(), op.i32Add(), op.set(2));
  emit(f32x4Const(Number.NEGATIVE_INFINITY), op.set(3));
  emit(op.block(), op.loop(), op.get(0), op.get(2), op.i32GeU(), op.brIf(1));
  emit(op.get(3), op.get(0), op.v128Load(0), X.f32x4Pmax(), op.set(3));
  emit(op.get(0), op.i32Const(16), op.i32Add(), op.set(0), op.br(0), op.end(), op.end());
  emit(op.get(3), X.f32x4ExtractLane(0), op.get(3), X.f32x4ExtractLane(1), X.f32Max());
  emit(op.get(3), X.f32x4ExtractLane(2), op.get(3), X.f32x4ExtractLane(3), X.f32Max(), X.f32Max());
  return b;
}

function comb3Body(): Bytes {
  // params: x 0, y 1, z 2, dst 3, n 4, a 5, b 6, c 7, d 8 (f32). locals: end 9; v128 va 10, vb 11, vc 12, vd 13.
  const b: Bytes = [];
  const emit = (...parts: Bytes[]) => {
    for (const p of parts) b.push(...p);
  };
  emit(op.get(0), op.get(4), op.i32Const(2), op.i32Shl(), op.i32Add(), op.set(9));
  for (let i = 0; i < 4; i++) emit(op.get(5 + i), X.f32x4Splat(), op.set(10 + i));
  emit(op.block(), op.loop(), op.get(0), op.get(9), op.i32GeU(), op.brIf(1));
  emit(op.get(3), op.get(0), op.v128Load(0), op.get(10), X.f32x4Mul());
  emit(op.get(1), op.v128Load(0), op.get(11), X.f32x4Mul(), X.f32x4Add());
  emit(op.get(2), op.v128Load(0), op.get(12), X.f32x4Mul(), X.f32x4Add(), op.get(13), X.f32x4Add(), op.v128Store(0));
  for (const p of [0, 1, 2, 3]) emit(op.get(p), op.i32Const(16), op.i32Add(), op.set(p));
  emit(op.br(0), op.end(), op.end());
  return b;
}

function dotBody(): Bytes {
  // params: q 0, a 1, b 2, n 3, sa 4, ma 5, sb 6, mb 7 (f32). locals: end 8; v128 acc 9, d 10, qv 11, splats 12-15.
  const b: Bytes = [];
  const emit = (...parts: Bytes[]) => {
    for (const p of parts) b.push(...p);
  };
  const high = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  emit(op.get(0), op.get(3), op.i32Const(2), op.i32Shl(), op.i32Add(), op.set(8));
  for (let i = 0; i < 4; i++) emit(op.get(4 + i), X.f32x4Splat(), op.set(12 + i));
  emit(op.v128Const(), op.set(9));
  emit(op.block(), op.loop(), op.get(0), op.get(8), op.i32GeU(), op.brIf(1));
  emit(op.get(1), op.v128Load(0), op.get(12), X.f32x4Mul(), op.get(13), X.f32x4Sub());
  emit(op.get(2), op.v128Load(0), op.get(14), X.f32x4Mul(), op.get(15), X.f32x4Sub(), X.f32x4Sub(), op.set(10));
  emit(op.get(0), op.v128Load(0), op.set(11));
  emit(op.get(9), op.get(11), X.f64x2PromoteLow(), op.get(10), X.f64x2PromoteLow(), op.f64x2Mul(), op.f64x2Add());
  emit(op.get(11), op.get(11), op.i8x16Shuffle(high), X.f64x2PromoteLow());
  emit(op.get(10), op.get(10), op.i8x16Shuffle(high), X.f64x2PromoteLow(), op.f64x2Mul(), op.f64x2Add(), op.set(9));
  for (const p of [0, 1, 2]) emit(op.get(p), op.i32Const(16), op.i32Add(), op.set(p));
  emit(op.br(0), op.end(), op.end());
  emit(op.get(9), op.f64x2ExtractLane(0), op.get(9), op.f64x2ExtractLane(1), X.f64Add());
  return b;
}

let moduleBytes: Uint8Array<ArrayBuffer> | undefined;
export function rowExpModuleBytes(): Uint8Array<ArrayBuffer> {
  moduleBytes ??= encodeModule([
    {
      name: 'expSum',
      params: [valType.i32, valType.i32, valType.i32, valType.f32, valType.f32],
      results: [valType.f64],
      locals: [valType.i32, ...new Array(10 + 5 + P.length + 2).fill(valType.v128)],
      body: expSumBody(),
    },
    {
      name: 'rowMax',
      params: [valType.i32, valType.i32],
      results: [valType.f32],
      locals: [valType.i32, valType.v128],
      body: rowMaxBody(),
    },
    {
      name: 'comb3',
      params: [...new Array(5).fill(valType.i32), ...new Array(4).fill(valType.f32)],
      results: [],
      locals: [valType.i32, ...new Array(4).fill(valType.v128)],
      body: comb3Body(),
    },
    {
      name: 'dot',
      params: [valType.i32, valType.i32, valType.i32, valType.i32, ...new Array(4).fill(valType.f32)],
      results: [valType.f64],
      locals: [valType.i32, ...new Array(7).fill(valType.v128)],
      body: dotBody(),
    },
  ]);
  return moduleBytes;
}

function jsRowMax(f32: Float32Array, src: number, n: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = src; i < src + n; i++) {
    const v = f32[i] as number;
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

function jsExpSum(f32: Float32Array, src: number, dst: number, n: number, scale: number, shift: number): number {
  const s = Math.fround(scale);
  const sh = Math.fround(shift);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.fround(Math.fround((f32[src + i] as number) * s) - sh);
    const e = x < EXP_LO ? 0 : Math.exp(Math.min(x, EXP_HI));
    f32[dst + i] = e;
    sum += f32[dst + i] as number;
  }
  return sum;
}

function jsComb3(
  f: Float32Array,
  x: number,
  y: number,
  z: number,
  dst: number,
  n: number,
  a: number,
  b: number,
  c: number,
  d: number,
): void {
  const [fa, fb, fc, fd] = [Math.fround(a), Math.fround(b), Math.fround(c), Math.fround(d)];
  for (let i = 0; i < n; i++) {
    f[dst + i] = fa * (f[x + i] as number) + fb * (f[y + i] as number) + fc * (f[z + i] as number) + fd;
  }
}

function jsDot(
  f: Float32Array,
  q: number,
  a: number,
  b: number,
  n: number,
  sa: number,
  ma: number,
  sb: number,
  mb: number,
): number {
  const [fsa, fma, fsb, fmb] = [Math.fround(sa), Math.fround(ma), Math.fround(sb), Math.fround(mb)];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const da = Math.fround(Math.fround(fsa * (f[a + i] as number)) - fma);
    const db = Math.fround(Math.fround(fsb * (f[b + i] as number)) - fmb);
    sum += (f[q + i] as number) * Math.fround(da - db);
  }
  return sum;
}

/** The plain-JavaScript arena (no WebAssembly SIMD, or `DISTILLERY_FUSED_LOSSES_SIMD=off`). */
export function createJsArena(): RowArena {
  const arena: RowArena = {
    f32: new Float32Array(1024),
    simd: false,
    reserve(floats) {
      if (arena.f32.length < floats) arena.f32 = new Float32Array(Math.max(floats, 2 * arena.f32.length));
    },
    rowMax: (src, n) => jsRowMax(arena.f32, src, n),
    expSum: (src, dst, n, scale, shift) => jsExpSum(arena.f32, src, dst, n, scale, shift),
    comb3: (x, y, z, dst, n, a, b, c, d) => jsComb3(arena.f32, x, y, z, dst, n, a, b, c, d),
    dot: (q, a, b, n, sa, ma, sb, mb) => jsDot(arena.f32, q, a, b, n, sa, ma, sb, mb),
  };
  return arena;
}

function createSimdArena(): RowArena | null {
  if (typeof WebAssembly === 'undefined') return null;
  const bytes = rowExpModuleBytes();
  if (!WebAssembly.validate(bytes)) return null;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const memory = instance.exports.memory as WebAssembly.Memory;
  const wasmExpSum = instance.exports.expSum as (s: number, d: number, n: number, a: number, b: number) => number;
  const wasmRowMax = instance.exports.rowMax as (s: number, n: number) => number;
  const wasmComb3 = instance.exports.comb3 as (...args: number[]) => void;
  const wasmDot = instance.exports.dot as (...args: number[]) => number;
  const arena: RowArena = {
    f32: new Float32Array(memory.buffer),
    simd: true,
    reserve(floats) {
      const bytes = 4 * floats;
      if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
      if (arena.f32.buffer !== memory.buffer || arena.f32.length * 4 !== memory.buffer.byteLength) {
        arena.f32 = new Float32Array(memory.buffer);
      }
    },
    rowMax(src, n) {
      const n4 = n & ~3;
      let m = n4 > 0 ? wasmRowMax(4 * src, n4) : Number.NEGATIVE_INFINITY;
      if (n4 < n) {
        const tail = jsRowMax(arena.f32, src + n4, n - n4);
        if (tail > m || Number.isNaN(tail)) m = tail;
      }
      return m;
    },
    expSum(src, dst, n, scale, shift) {
      const n4 = n & ~3;
      let sum = n4 > 0 ? wasmExpSum(4 * src, 4 * dst, n4, scale, shift) : 0;
      if (n4 < n) sum += jsExpSum(arena.f32, src + n4, dst + n4, n - n4, scale, shift);
      return sum;
    },
    comb3(x, y, z, dst, n, a, b, c, d) {
      const n4 = n & ~3;
      if (n4 > 0) wasmComb3(4 * x, 4 * y, 4 * z, 4 * dst, n4, a, b, c, d);
      if (n4 < n) jsComb3(arena.f32, x + n4, y + n4, z + n4, dst + n4, n - n4, a, b, c, d);
    },
    dot(q, a, b, n, sa, ma, sb, mb) {
      const n4 = n & ~3;
      let sum = n4 > 0 ? wasmDot(4 * q, 4 * a, 4 * b, n4, sa, ma, sb, mb) : 0;
      if (n4 < n) sum += jsDot(arena.f32, q + n4, a + n4, b + n4, n - n4, sa, ma, sb, mb);
      return sum;
    },
  };
  return arena;
}

let shared: RowArena | undefined;
/** The process-wide arena: SIMD where WebAssembly SIMD validates, else plain JavaScript. */
export function rowArena(): RowArena {
  if (shared === undefined) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    shared = (env?.DISTILLERY_FUSED_LOSSES_SIMD === 'off' ? null : createSimdArena()) ?? createJsArena();
  }
  return shared;
}
