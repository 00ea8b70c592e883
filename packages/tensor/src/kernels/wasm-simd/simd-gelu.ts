import {
  type Bytes,
  encodeModule,
  type ImportedMemory,
  instancePerMemory,
  op,
  relaxedSimdAvailable,
  valType,
} from './wasm-encoder';

/**
 * Exact GELU and its gradient on WebAssembly SIMD, four floats at a time:
 *
 *     y  = ½·x·(1 + erf(x/√2))           = x − ½·x·erfc(a)  (x ≥ 0),  ½·x·erfc(a)  (x < 0),   a = |x|/√2
 *     dx = dy·(Φ(x) + x·φ(x)),  Φ(x) = 1 − ½·erfc(a) (x ≥ 0), ½·erfc(a) (x < 0),  φ(x) = e^(−a²)/√(2π)
 *
 * erfc(a) = t·exp(−a² + P(t)), t = 1/(1 + a/2), P a degree-9 polynomial (Numerical Recipes' `erfcc`, Chebyshev
 * fit, fractional error < 1.2e-7 for every a ≥ 0). exp by Cephes' `expf`: n = round(v·log₂e), r = v − n·ln 2 (in two
 * parts), e^r by a degree-5 polynomial, times 2ⁿ built in the exponent bits. Where e^v would fall below float32's
 * normal range (v < −87) erfc and φ are 0, exactly as their float32 values round.
 */

// Parameters and locals: gelu(x, y, n) and geluGrad(dy, x, dx, n) (byte pointers, then the float count); gelu's
// local 3 is unused, so that both share the locals below.
const [P0, P1, P2] = [0, 1, 2];
const I = 4; // byte offset into the arrays
const END = 5; // 4·n
const [X, A, T, V, M, E, H, DY] = [6, 7, 8, 9, 10, 11, 12, 13]; // v128 locals

const f32x4 = op.f32x4Const;
const v = {
  abs: op.f32x4Abs(),
  add: op.f32x4Add(),
  sub: op.f32x4Sub(),
  mul: op.f32x4Mul(),
  div: op.f32x4Div(),
  max: op.f32x4Max(),
  nearest: op.f32x4Nearest(),
  gt: op.f32x4Gt(),
  ge: op.f32x4Ge(),
  and: op.v128And(),
  bitselect: op.v128Bitselect(),
  i32x4TruncSatF32x4S: op.i32x4TruncSatF32x4S(),
  i32x4Add: op.i32x4Add(),
  i32x4Shl: op.i32x4Shl(),
};

const LOG2E = Math.LOG2E;
const LN2_HI = 0.693359375; // ln 2 = LN2_HI + LN2_LO, LN2_HI exact in few bits (Cephes)
const LN2_LO = -2.1219444e-4;
const EXP_POLY = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
// erfcc's P(t), highest degree first: P(t) = −1.26551223 + t·(1.00002368 + t·(… + t·0.17087277)).
const ERFC_POLY = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368,
  -1.26551223,
];
const EXP_FLOOR = -87; // e^−87 ≈ 1.6e−38, float32's smallest normals

/** Horner: c[0]·u^(k) + … + c[k], with u in local `u`. */
const horner = (coefficients: readonly number[], u: number, fma: boolean): Bytes => {
  const out: Bytes = [...f32x4(coefficients[0] as number)];
  for (const c of coefficients.slice(1)) {
    if (fma) out.push(...op.get(u), ...f32x4(c), ...op.f32x4RelaxedMadd());
    else out.push(...op.get(u), ...v.mul, ...f32x4(c), ...v.add);
  }
  return out;
};

/** e^(local V) onto the stack, for V ≥ EXP_FLOOR (uses locals E and H as scratch). */
const exp = (fma: boolean): Bytes => [
  // E = n = round(V·log₂e)
  ...op.get(V),
  ...f32x4(LOG2E),
  ...v.mul,
  ...v.nearest,
  ...op.set(E),
  // H = r = V − n·LN2_HI − n·LN2_LO
  ...op.get(V),
  ...op.get(E),
  ...f32x4(LN2_HI),
  ...v.mul,
  ...v.sub,
  ...op.get(E),
  ...f32x4(LN2_LO),
  ...v.mul,
  ...v.sub,
  ...op.set(H),
  // (p(r)·r² + r + 1) · 2ⁿ
  ...horner(EXP_POLY, H, fma),
  ...op.get(H),
  ...v.mul,
  ...op.get(H),
  ...v.mul,
  ...op.get(H),
  ...v.add,
  ...f32x4(1),
  ...v.add,
  ...op.get(E),
  ...v.i32x4TruncSatF32x4S,
  ...op.i32x4Const(127),
  ...v.i32x4Add,
  ...op.i32Const(23),
  ...v.i32x4Shl,
  ...v.mul,
];

/** The exponent on the stack into V, floored at EXP_FLOOR; M = the lanes above the floor (the rest become 0). */
const floorExponent = (): Bytes => [
  ...op.tee(V),
  ...f32x4(EXP_FLOOR),
  ...v.gt,
  ...op.set(M),
  ...op.get(V),
  ...f32x4(EXP_FLOOR),
  ...v.max,
  ...op.set(V),
];

/** From local X: A = |x|/√2, T = 1/(1 + A/2), then erfc(A) onto the stack (0 below float32's range). */
const erfc = (fma: boolean): Bytes => [
  ...op.get(X),
  ...v.abs,
  ...f32x4(Math.SQRT1_2),
  ...v.mul,
  ...op.set(A),
  ...f32x4(1),
  ...f32x4(1),
  ...op.get(A),
  ...f32x4(0.5),
  ...v.mul,
  ...v.add,
  ...v.div,
  ...op.set(T),
  // V = P(T) − A², floored
  ...horner(ERFC_POLY, T, fma),
  ...op.get(A),
  ...op.get(A),
  ...v.mul,
  ...v.sub,
  ...floorExponent(),
  ...op.get(T),
  ...exp(fma),
  ...v.mul,
  ...op.get(M),
  ...v.and,
];

/** `for (i = 0; i < 4n; i += 16) { body }`, n in parameter `n`. */
const loop = (n: number, body: Bytes): Bytes => [
  ...op.get(n),
  ...op.i32Const(4),
  ...op.i32Mul(),
  ...op.set(END),
  ...op.i32Const(0),
  ...op.set(I),
  ...op.block(),
  ...op.loop(),
  ...op.get(I),
  ...op.get(END),
  ...op.i32GeS(),
  ...op.brIf(1),
  ...body,
  ...op.get(I),
  ...op.i32Const(16),
  ...op.i32Add(),
  ...op.set(I),
  ...op.br(0),
  ...op.end(),
  ...op.end(),
];

const load = (pointer: number, local: number): Bytes => [
  ...op.get(pointer),
  ...op.get(I),
  ...op.i32Add(),
  ...op.v128Load(),
  ...op.set(local),
];
const storeTo = (pointer: number): Bytes => [...op.get(pointer), ...op.get(I), ...op.i32Add()];

/** x ≥ 0 ? positive − H : H onto the stack, per lane (H in local H, x in local X). */
const bySign = (positive: Bytes): Bytes => [
  ...positive,
  ...op.get(H),
  ...v.sub,
  ...op.get(H),
  ...op.get(X),
  ...f32x4(0),
  ...v.ge,
  ...v.bitselect,
];

/** gelu(x, y, n): y = GELU(x) over n floats (n a multiple of 4, byte pointers 16-aligned). */
function geluBody(fma: boolean): Bytes {
  return loop(2, [
    ...load(P0, X),
    ...storeTo(P1),
    // H = ½·x·erfc(a); y = x ≥ 0 ? x − H : H
    ...op.get(X),
    ...f32x4(0.5),
    ...v.mul,
    ...erfc(fma),
    ...v.mul,
    ...op.set(H),
    ...bySign(op.get(X)),
    ...op.v128Store(),
  ]);
}

/** geluGrad(dy, x, dx, n): dx = dy·(Φ(x) + x·φ(x)) over n floats. */
function geluGradBody(fma: boolean): Bytes {
  return loop(3, [
    ...load(P0, DY),
    ...load(P1, X),
    ...storeTo(P2),
    ...op.get(DY),
    // Φ(x): H = ½·erfc(a); x ≥ 0 ? 1 − H : H
    ...erfc(fma),
    ...f32x4(0.5),
    ...v.mul,
    ...op.set(H),
    ...bySign(f32x4(1)),
    // + x·e^(−a²)/√(2π)  (0 where −a² < floor)
    ...f32x4(0),
    ...op.get(A),
    ...op.get(A),
    ...v.mul,
    ...v.sub,
    ...floorExponent(),
    ...exp(fma),
    ...op.get(M),
    ...v.and,
    ...op.get(X),
    ...v.mul,
    ...f32x4(1 / Math.sqrt(2 * Math.PI)),
    ...v.mul,
    ...v.add,
    ...v.mul,
    ...op.v128Store(),
  ]);
}

const I32 = valType.i32;
const V128 = valType.v128;

/**
 * The module's bytes: `gelu`, `geluGrad` and its own growable memory, exported as `memory`; with `importMemory`,
 * on that memory instead (imported as `env.memory`). With `fma` (default: where relaxed SIMD is available) each
 * Horner step of the two polynomials is one `f32x4.relaxed_madd`, halving their dependency chains (forward pass on
 * 1.6M floats: 7.0 → 5.8 ms).
 */
export function simdGeluModuleBytes(
  importMemory?: ImportedMemory,
  fma = relaxedSimdAvailable(),
): Uint8Array<ArrayBuffer> {
  const locals = [I32, I32, ...new Array(8).fill(V128)];
  return encodeModule(
    [
      { name: 'gelu', params: [I32, I32, I32], results: [], locals: [I32, ...locals], body: geluBody(fma) },
      { name: 'geluGrad', params: [I32, I32, I32, I32], results: [], locals, body: geluGradBody(fma) },
    ],
    1,
    importMemory,
  );
}

type GeluExports = {
  gelu(x: number, y: number, n: number): void;
  geluGrad(dy: number, x: number, dx: number, n: number): void;
};

/**
 * GELU and its gradient over float32 arrays, run on the SIMD module. When every array is a view of `memory` (a plain
 * WebAssembly.Memory, tfjs-wasm's: wasmHeapMemory), the whole vectors are computed in place there and only a tail of
 * up to 3 floats goes through the module's own memory; otherwise the arrays are copied in and out.
 */
export interface SimdGelu {
  forward(x: Float32Array, y: Float32Array, memory?: WebAssembly.Memory | null): void;
  backward(dy: Float32Array, x: Float32Array, dx: Float32Array, memory?: WebAssembly.Memory | null): void;
}

/** The module instantiated on `memory` (one instance per memory), or null where it does not instantiate. */
const geluOn = instancePerMemory<GeluExports>(() => simdGeluModuleBytes({ initial: 0, shared: false }));

/** The whole-vector part (n rounded down to a multiple of 4) when every array lies in `memory`, else 0. */
function inPlaceLength(memory: WebAssembly.Memory | null | undefined, arrays: Float32Array[]): number {
  if (!memory || !arrays.every((a) => a.buffer === memory.buffer)) return 0;
  return (arrays[0] as Float32Array).length & ~3;
}

let instance: SimdGelu | null | undefined;

/** How many GELU / gradient passes ran on the SIMD module through copies, and how many in place (for tests). */
export const simdGeluCalls = { count: 0, inPlace: 0 };

/** The SIMD GELU, or null where this runtime has no WebAssembly SIMD. Instantiated once. */
export function simdGelu(): SimdGelu | null {
  if (instance !== undefined) return instance;
  instance = null;
  if (typeof WebAssembly === 'undefined') return instance;
  const bytes = simdGeluModuleBytes();
  if (!WebAssembly.validate(bytes)) return instance;
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as {
    memory: WebAssembly.Memory;
    gelu(x: number, y: number, n: number): void;
    geluGrad(dy: number, x: number, dx: number, n: number): void;
  };
  /** A float32 view of the memory holding `arrays` arrays of n floats, each rounded up to whole vectors. */
  const heap = (arrays: number, n: number) => {
    const bytes = arrays * Math.ceil(n / 4) * 16;
    const have = exports.memory.buffer.byteLength;
    if (bytes > have) exports.memory.grow(Math.ceil((bytes - have) / 65536));
    return new Float32Array(exports.memory.buffer);
  };
  instance = {
    forward(x, y, memory) {
      const whole = inPlaceLength(memory, [x, y]);
      const inPlace = whole > 0 ? geluOn(memory as WebAssembly.Memory) : null;
      if (inPlace) {
        inPlace.gelu(x.byteOffset, y.byteOffset, whole);
        simdGeluCalls.inPlace++;
        if (whole < x.length) instance?.forward(x.subarray(whole), y.subarray(whole));
        return;
      }
      const n = x.length;
      const stride = Math.ceil(n / 4) * 4;
      const f = heap(2, n);
      f.set(x, 0);
      f.fill(0, n, stride);
      exports.gelu(0, stride * 4, stride);
      simdGeluCalls.count++;
      y.set(f.subarray(stride, stride + n));
    },
    backward(dy, x, dx, memory) {
      const whole = inPlaceLength(memory, [dy, x, dx]);
      const inPlace = whole > 0 ? geluOn(memory as WebAssembly.Memory) : null;
      if (inPlace) {
        inPlace.geluGrad(dy.byteOffset, x.byteOffset, dx.byteOffset, whole);
        simdGeluCalls.inPlace++;
        if (whole < x.length) instance?.backward(dy.subarray(whole), x.subarray(whole), dx.subarray(whole));
        return;
      }
      const n = x.length;
      const stride = Math.ceil(n / 4) * 4;
      const f = heap(3, n);
      f.set(dy, 0);
      f.fill(0, n, stride);
      f.set(x, stride);
      f.fill(0, stride + n, 2 * stride);
      exports.geluGrad(0, stride * 4, 2 * stride * 4, stride);
      simdGeluCalls.count++;
      dx.set(f.subarray(2 * stride, 2 * stride + n));
    },
  };
  return instance;
}
