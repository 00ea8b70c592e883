/**
 * A minimal WebAssembly binary encoder: just what the hand-written SIMD kernels of this folder need (one module,
 * i32/f32/i64/v128 locals, structured control flow, memory access and the SIMD opcodes below). There is no
 * compiler toolchain behind it: every function body is a byte array built from these helpers.
 *
 * Binary format: https://webassembly.github.io/spec/core/binary/ (SIMD opcodes: 0xFD prefix + LEB128 u32).
 */

export type Bytes = number[];

/** Unsigned LEB128. */
export function uleb(value: number): Bytes {
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

/** Signed LEB128 (32-bit). */
export function sleb(value: number): Bytes {
  const out: Bytes = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const utf8 = (s: string): Bytes => [...new TextEncoder().encode(s)];
const vec = (items: Bytes[]): Bytes => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: Bytes): Bytes => [id, ...uleb(body.length), ...body];

export const valType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof valType)[keyof typeof valType];

/** Instructions (each returns its bytes; `memarg` alignment is a log2 hint, `offset` a constant byte offset). */
export const op = {
  block: (): Bytes => [0x02, 0x40],
  loop: (): Bytes => [0x03, 0x40],
  if: (): Bytes => [0x04, 0x40],
  else: (): Bytes => [0x05],
  end: (): Bytes => [0x0b],
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  drop: (): Bytes => [0x1a],
  select: (): Bytes => [0x1b],
  get: (local: number): Bytes => [0x20, ...uleb(local)],
  set: (local: number): Bytes => [0x21, ...uleb(local)],
  tee: (local: number): Bytes => [0x22, ...uleb(local)],
  f32Store: (offset = 0): Bytes => [0x38, 2, ...uleb(offset)],
  f64Load: (offset = 0): Bytes => [0x2b, 3, ...uleb(offset)],
  f64Store: (offset = 0): Bytes => [0x39, 3, ...uleb(offset)],
  f64Const: (value: number): Bytes => [0x44, ...new Uint8Array(Float64Array.of(value).buffer)],
  f64Add: (): Bytes => [0xa0],
  f64Mul: (): Bytes => [0xa2],
  f64Div: (): Bytes => [0xa3],
  f64Min: (): Bytes => [0xa4],
  f64Max: (): Bytes => [0xa5],
  i64Store: (offset = 0): Bytes => [0x37, 3, ...uleb(offset)],
  i32Const: (value: number): Bytes => [0x41, ...sleb(value)],
  i32Eqz: (): Bytes => [0x45],
  i32DivU: (): Bytes => [0x6e],
  i32LtS: (): Bytes => [0x48],
  i32GeS: (): Bytes => [0x4e],
  i32Add: (): Bytes => [0x6a],
  i32Sub: (): Bytes => [0x6b],
  i32Mul: (): Bytes => [0x6c],
  i32And: (): Bytes => [0x71],
  i32Shl: (): Bytes => [0x74],
  i32GtU: (): Bytes => [0x4b],
  i32GeU: (): Bytes => [0x4f],
  i32Or: (): Bytes => [0x72],
  // SIMD (0xFD prefix).
  v128Load: (offset = 0): Bytes => [0xfd, ...uleb(0x00), 2, ...uleb(offset)],
  v128Load32Splat: (offset = 0): Bytes => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  v128Store: (offset = 0): Bytes => [0xfd, ...uleb(0x0b), 2, ...uleb(offset)],
  /** Stores one 64-bit lane of a v128 (e.g. two f32s after a demote). */
  v128Store64Lane: (lane: number, offset = 0): Bytes => [0xfd, ...uleb(0x5b), 3, ...uleb(offset), lane],
  v128Const: (bytes: Bytes = new Array(16).fill(0)): Bytes => [0xfd, ...uleb(0x0c), ...bytes],
  i8x16Shuffle: (lanes: Bytes): Bytes => [0xfd, ...uleb(0x0d), ...lanes],
  f32x4Splat: (): Bytes => [0xfd, ...uleb(0x13)],
  i64x2ExtractLane: (lane: number): Bytes => [0xfd, ...uleb(0x1d), lane],
  f32x4ExtractLane: (lane: number): Bytes => [0xfd, ...uleb(0x1f), lane],
  /** v128.const of four equal f32 / i32 lanes. */
  f32x4Const: (value: number): Bytes => [
    0xfd,
    ...uleb(0x0c),
    ...new Uint8Array(Float32Array.of(value, value, value, value).buffer),
  ],
  i32x4Const: (value: number): Bytes => [
    0xfd,
    ...uleb(0x0c),
    ...new Uint8Array(Int32Array.of(value, value, value, value).buffer),
  ],
  f32x4Abs: (): Bytes => [0xfd, ...uleb(0xe0)],
  f32x4Add: (): Bytes => [0xfd, ...uleb(0xe4)],
  f32x4Sub: (): Bytes => [0xfd, ...uleb(0xe5)],
  f32x4Mul: (): Bytes => [0xfd, ...uleb(0xe6)],
  f32x4Div: (): Bytes => [0xfd, ...uleb(0xe7)],
  f32x4Max: (): Bytes => [0xfd, ...uleb(0xe9)],
  f32x4Nearest: (): Bytes => [0xfd, ...uleb(0x6a)],
  f32x4Gt: (): Bytes => [0xfd, ...uleb(0x44)],
  f32x4Ge: (): Bytes => [0xfd, ...uleb(0x46)],
  i32x4TruncSatF32x4S: (): Bytes => [0xfd, ...uleb(0xf8)],
  i32x4Add: (): Bytes => [0xfd, ...uleb(0xae)],
  /** Shifts every i32 lane left by the i32 on the stack. */
  i32x4Shl: (): Bytes => [0xfd, ...uleb(0xab)],
  v128And: (): Bytes => [0xfd, ...uleb(0x4e)],
  f64x2Splat: (): Bytes => [0xfd, ...uleb(0x14)],
  f64x2ExtractLane: (lane: number): Bytes => [0xfd, ...uleb(0x21), lane],
  f64x2Add: (): Bytes => [0xfd, ...uleb(0xf0)],
  f64x2Sub: (): Bytes => [0xfd, ...uleb(0xf1)],
  f64x2Mul: (): Bytes => [0xfd, ...uleb(0xf2)],
  f64x2Div: (): Bytes => [0xfd, ...uleb(0xf3)],
  f64x2Min: (): Bytes => [0xfd, ...uleb(0xf4)],
  f64x2Max: (): Bytes => [0xfd, ...uleb(0xf5)],
  f64x2Nearest: (): Bytes => [0xfd, ...uleb(0x94)],
  /** Two f64 lanes rounded to f32 in lanes 0–1, lanes 2–3 zero. */
  f32x4DemoteF64x2Zero: (): Bytes => [0xfd, ...uleb(0x5e)],
  /** Pseudo-min/max (b < a ? b : a, a < b ? b : a): one instruction on x86, unlike the IEEE f64x2.min/max. */
  f64x2Pmin: (): Bytes => [0xfd, ...uleb(0xf6)],
  f64x2Pmax: (): Bytes => [0xfd, ...uleb(0xf7)],
  f64x2Lt: (): Bytes => [0xfd, ...uleb(0x49)],
  f64x2Gt: (): Bytes => [0xfd, ...uleb(0x4a)],
  i64x2Shl: (): Bytes => [0xfd, ...uleb(0xcb)],
  v128Bitselect: (): Bytes => [0xfd, ...uleb(0x52)],
  /**
   * Relaxed SIMD's a·b + c (stack: a, b, c): one fused multiply-add where the CPU has one (x86 FMA3, Arm), else a
   * multiply and an add; which one is fixed per machine. Validates only where relaxed SIMD is on.
   */
  f32x4RelaxedMadd: (): Bytes => [0xfd, ...uleb(0x105)],
  /** v128.const of two equal f64 lanes. */
  f64x2Const: (value: number): Bytes => [0xfd, ...uleb(0x0c), ...new Uint8Array(Float64Array.of(value, value).buffer)],
};

export interface FunctionDef {
  name: string;
  params: ValType[];
  results: ValType[];
  /** Extra locals, in order after the parameters. */
  locals: ValType[];
  body: Bytes;
}

/** A memory the module imports as `env.memory` instead of defining its own: shared (for threads) or not. */
export interface ImportedMemory {
  /**
   * Initial and maximum sizes in 64 KiB pages. A shared memory must declare its maximum; a non-shared one without
   * a maximum accepts any memory of at least `initial` pages (e.g. another module's heap).
   */
  initial: number;
  maximum?: number;
  shared: boolean;
}

/**
 * Encodes a module with the given functions (each exported under its name) and one memory of `memoryPages`
 * initial 64 KiB pages, exported as `memory`, growable from JavaScript. With `importMemory` the module instead
 * imports its memory as `env.memory` (e.g. one shared `WebAssembly.Memory` that several threads' instances use)
 * and still exports it as `memory`.
 */
export function encodeModule(
  functions: FunctionDef[],
  memoryPages = 1,
  importMemory?: ImportedMemory,
): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const code = functions.map((f) => {
    // Run-length encode the locals.
    const groups: Bytes[] = [];
    for (let i = 0; i < f.locals.length; ) {
      let n = 1;
      while (i + n < f.locals.length && f.locals[i + n] === f.locals[i]) n++;
      groups.push([...uleb(n), f.locals[i] as number]);
      i += n;
    }
    const body = [...vec(groups), ...f.body, ...op.end()];
    return [...uleb(body.length), ...body];
  });
  const exports = [
    ...functions.map((f, i) => [...nameBytes(f.name), 0x00, ...uleb(i)]),
    [...nameBytes('memory'), 0x02, 0x00],
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...(importMemory
      ? section(
          2,
          vec([
            [
              ...nameBytes('env'),
              ...nameBytes('memory'),
              0x02,
              // limits: max present (0x01), shared (0x02)
              (importMemory.maximum === undefined ? 0 : 0x01) | (importMemory.shared ? 0x02 : 0),
              ...uleb(importMemory.initial),
              ...(importMemory.maximum === undefined ? [] : uleb(importMemory.maximum)),
            ],
          ]),
        )
      : []),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...(importMemory ? [] : section(5, vec([[0x00, ...uleb(memoryPages)]]))),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
  ]);
}

let relaxedSimd: boolean | undefined;

/**
 * Whether this engine runs WebAssembly relaxed SIMD (Chromium ≥ 114, Node ≥ 22; Node 20 with
 * `--experimental-wasm-relaxed-simd`), where `op.f32x4RelaxedMadd` gives the kernels a fused multiply-add. Checked
 * once, by validating a one-instruction module.
 */
export function relaxedSimdAvailable(): boolean {
  if (relaxedSimd === undefined) {
    const madd = [...op.v128Const(), ...op.v128Const(), ...op.v128Const(), ...op.f32x4RelaxedMadd(), ...op.drop()];
    const probe = encodeModule([{ name: 'madd', params: [], results: [], locals: [], body: madd }]);
    relaxedSimd = typeof WebAssembly !== 'undefined' && WebAssembly.validate(probe);
  }
  return relaxedSimd;
}

/**
 * A function that instantiates the module `bytes()` — one that imports a non-shared `env.memory` without a maximum
 * — on a given memory (another module's heap, e.g. tfjs-wasm's), once per memory, and returns its exports; null
 * where it does not instantiate.
 */
export function instancePerMemory<T>(bytes: () => Uint8Array<ArrayBuffer>): (memory: WebAssembly.Memory) => T | null {
  const instances = new WeakMap<WebAssembly.Memory, T | null>();
  return (memory) => {
    let exports = instances.get(memory);
    if (exports === undefined) {
      try {
        exports = new WebAssembly.Instance(new WebAssembly.Module(bytes()), { env: { memory } }).exports as T;
      } catch {
        exports = null;
      }
      instances.set(memory, exports);
    }
    return exports;
  };
}

function nameBytes(name: string): Bytes {
  const b = utf8(name);
  return [...uleb(b.length), ...b];
}
