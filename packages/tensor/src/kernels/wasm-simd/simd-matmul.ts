import {
  type Bytes,
  encodeModule,
  type FunctionDef,
  type ImportedMemory,
  instancePerMemory,
  op,
  relaxedSimdAvailable,
  valType,
} from './wasm-encoder';

/** Rows × columns of C held in v128 registers by the micro-kernel (4 rows, two f32x4 vectors per row). */
export const TILE_M = 4;
export const TILE_N = 8;

// Parameters (i32): byte pointers and strides; the locals follow.
const A = 0;
const B = 1;
const C = 2;
const M = 3;
const N = 4;
const K = 5;
const BATCH = 6;
const STRIDE_A = 7;
const STRIDE_B = 8;
const STRIDE_C = 9;
const I = 10;
const J = 11;
const KK = 12;
const AR = [13, 14, 15, 16]; // row pointers of the A tile (clamped to the last row at the M edge)
const CR = [17, 18, 19, 20]; // row pointers of the C tile (clamped likewise: duplicate rows store equal values)
const PA = [21, 22, 23, 24]; // running A pointers over k
const PB = 25; // running B pointer over k
const K4 = 26;
const N4 = 27;
const NC = 28;
const CP = 29;
const ACC = [30, 31, 32, 33, 34, 35, 36, 37]; // ACC[2r + h]: row r, columns 4h..4h+3 of the tile
const VB0 = 38;
const VB1 = 39;
const VA = 40;
const KB0 = 41; // first k of the current k block
const KLEN = 42; // its length
const KBLOCK = 43; // k values per block
const I32_LOCALS = 20; // I .. CP
const V128_LOCALS = 11; // ACC, VB0, VB1, VA
const I32_LOCALS_2 = 3; // KB0, KLEN, KBLOCK

/**
 * Bytes of B one k block may span (KBLOCK·N floats): kept in a core's L2 cache while every row tile of A passes over
 * it. Without blocking, a product whose B exceeds the cache (a weight gradient, K = tokens) streams B from memory
 * once per row tile and ran at half speed.
 */
export const K_BLOCK_BYTES = 256 * 1024;

const add = (dst: number, a: Bytes, b: Bytes): Bytes => [...a, ...b, ...op.i32Add(), ...op.set(dst)];

/**
 * The body of `matmul(a, b, c, M, N, K, batch, strideA, strideB, strideC)`: for each of `batch` problems,
 * C[M×N] = A[M×K] · B[K×N] (row-major float32, byte pointers advanced by the byte strides between problems).
 * Register blocking: a 4×8 tile of C lives in eight f32x4 locals while k runs; each step loads one row segment of
 * B (two vectors), splats one A value per tile row (v128.load32_splat) and does 8 mul + 8 add (8 relaxed_madd with
 * `fma`). M, N, K, batch ≥ 1.
 * At the N edge the tile reads up to 7 floats past a B row (the next row, or slack after B that the caller
 * provides): those lanes only feed columns that are never stored. At the M edge the missing rows alias the last
 * real row, so they compute and store the same values again. (Unrolling k by 2 or 4, or looping over column tiles
 * outside row tiles, measured slower under V8, and so did 5- and 6-row tiles with FMA, so the loops stay plain.)
 */
function matmulBody(fma: boolean): Bytes {
  const b: Bytes = [];
  const emit = (...parts: Bytes[]) => {
    for (const p of parts) b.push(...p);
  };
  const rowPointers = () => {
    const kOffset = [...op.get(KB0), ...op.i32Const(2), ...op.i32Shl(), ...op.i32Add()];
    emit(add(AR[0] as number, [...op.get(A), ...kOffset], [...op.get(I), ...op.get(K4), ...op.i32Mul()]));
    emit(add(CR[0] as number, [...op.get(C)], [...op.get(I), ...op.get(N4), ...op.i32Mul()]));
    for (let r = 1; r < TILE_M; r++) {
      // Row r exists when i + r < M, else it aliases row r − 1.
      const cond = [...op.get(I), ...op.i32Const(r), ...op.i32Add(), ...op.get(M), ...op.i32LtS()];
      for (const [ptrs, step] of [
        [AR, K4],
        [CR, N4],
      ] as const) {
        const prev = ptrs[r - 1] as number;
        emit(op.get(prev), op.get(step), op.i32Add(), op.get(prev), cond, op.select(), op.set(ptrs[r] as number));
      }
    }
  };
  /** One k step: B's row segment (two vectors) times one splatted A value per tile row. */
  const step = () => {
    emit(op.get(PB), op.v128Load(0), op.set(VB0));
    emit(op.get(PB), op.v128Load(16), op.set(VB1));
    for (let r = 0; r < TILE_M; r++) {
      emit(op.get(PA[r] as number), op.v128Load32Splat(0), op.set(VA));
      for (let h = 0; h < 2; h++) {
        const acc = ACC[2 * r + h] as number;
        if (fma) emit(op.get(VA), op.get(h ? VB1 : VB0), op.get(acc), op.f32x4RelaxedMadd(), op.set(acc));
        else emit(op.get(acc), op.get(VA), op.get(h ? VB1 : VB0), op.f32x4Mul(), op.f32x4Add(), op.set(acc));
      }
    }
    emit(op.get(PB), op.get(N4), op.i32Add(), op.set(PB));
  };
  const advanceA = (floats: number) => {
    for (const pa of PA) emit(op.get(pa), op.i32Const(4 * floats), op.i32Add(), op.set(pa));
  };
  const tile = () => {
    // The first k block starts from zero, the later ones from the partial sums the earlier blocks stored (an f32
    // store and load are exact, so every element is the same k-ordered sum as without blocks).
    emit(op.get(KB0), op.i32Eqz(), op.if());
    for (const acc of ACC) emit(op.v128Const(), op.set(acc));
    emit(op.else());
    for (let r = 0; r < TILE_M; r++) {
      emit(add(CP, [...op.get(CR[r] as number)], [...op.get(J), ...op.i32Const(2), ...op.i32Shl()]));
      emit(op.get(CP), op.v128Load(0), op.set(ACC[2 * r] as number));
      emit(op.get(CP), op.v128Load(16), op.set(ACC[2 * r + 1] as number));
    }
    emit(op.end());
    for (let r = 0; r < TILE_M; r++) emit(op.get(AR[r] as number), op.set(PA[r] as number));
    emit(
      add(
        PB,
        [...op.get(B), ...op.get(KB0), ...op.get(N4), ...op.i32Mul(), ...op.i32Add()],
        [...op.get(J), ...op.i32Const(2), ...op.i32Shl()],
      ),
    );
    emit(op.get(KLEN), op.set(KK));
    emit(op.loop());
    step();
    advanceA(1);
    emit(op.get(KK), op.i32Const(1), op.i32Sub(), op.tee(KK), op.brIf(0));
    emit(op.end());
    // Store the tile: whole when 8 columns remain, else 4 / 2 / 1 columns by the bits of the remainder.
    emit(op.get(N), op.get(J), op.i32Sub(), op.tee(NC), op.i32Const(TILE_N), op.i32GeS(), op.if());
    for (let r = TILE_M - 1; r >= 0; r--) {
      emit(add(CP, [...op.get(CR[r] as number)], [...op.get(J), ...op.i32Const(2), ...op.i32Shl()]));
      emit(op.get(CP), op.get(ACC[2 * r] as number), op.v128Store(0));
      emit(op.get(CP), op.get(ACC[2 * r + 1] as number), op.v128Store(16));
    }
    emit(op.else());
    for (let r = TILE_M - 1; r >= 0; r--) {
      const lo = ACC[2 * r] as number;
      const hi = ACC[2 * r + 1] as number;
      emit(add(CP, [...op.get(CR[r] as number)], [...op.get(J), ...op.i32Const(2), ...op.i32Shl()]));
      emit(op.get(NC), op.i32Const(4), op.i32And(), op.if());
      emit(op.get(CP), op.get(lo), op.v128Store(0), op.get(hi), op.set(lo));
      emit(op.get(CP), op.i32Const(16), op.i32Add(), op.set(CP));
      emit(op.end());
      emit(op.get(NC), op.i32Const(2), op.i32And(), op.if());
      emit(op.get(CP), op.get(lo), op.i64x2ExtractLane(0), op.i64Store(0));
      const upperHalf = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
      emit(op.get(lo), op.get(lo), op.i8x16Shuffle(upperHalf), op.set(lo));
      emit(op.get(CP), op.i32Const(8), op.i32Add(), op.set(CP));
      emit(op.end());
      emit(op.get(NC), op.i32Const(1), op.i32And(), op.if());
      emit(op.get(CP), op.get(lo), op.f32x4ExtractLane(0), op.f32Store(0));
      emit(op.end());
    }
    emit(op.end()); // if whole tile
  };
  const rowLoop = (body: () => void) => {
    emit(op.i32Const(0), op.set(I), op.loop());
    body();
    emit(op.get(I), op.i32Const(TILE_M), op.i32Add(), op.tee(I), op.get(M), op.i32LtS(), op.brIf(0), op.end());
  };
  const colLoop = (body: () => void) => {
    emit(op.i32Const(0), op.set(J), op.loop());
    body();
    emit(op.get(J), op.i32Const(TILE_N), op.i32Add(), op.tee(J), op.get(N), op.i32LtS(), op.brIf(0), op.end());
  };

  emit(op.get(K), op.i32Const(2), op.i32Shl(), op.set(K4));
  emit(op.get(N), op.i32Const(2), op.i32Shl(), op.set(N4));
  // KBLOCK = max(8, K_BLOCK_BYTES / (4N) rounded down to a multiple of 8).
  emit(op.i32Const(K_BLOCK_BYTES), op.get(N4), op.i32DivU(), op.i32Const(-8), op.i32And(), op.set(KBLOCK));
  emit(op.get(KBLOCK), op.i32Const(8), op.get(KBLOCK), op.i32Const(8), op.i32GeS(), op.select(), op.set(KBLOCK));
  emit(op.loop()); // batch
  emit(op.i32Const(0), op.set(KB0), op.loop()); // k blocks
  emit(op.get(K), op.get(KB0), op.i32Sub(), op.tee(KLEN), op.get(KBLOCK), op.get(KLEN), op.get(KBLOCK), op.i32LtS());
  emit(op.select(), op.set(KLEN)); // KLEN = min(K − KB0, KBLOCK)
  rowLoop(() => {
    rowPointers();
    colLoop(tile);
  });
  emit(op.get(KB0), op.get(KBLOCK), op.i32Add(), op.tee(KB0), op.get(K), op.i32LtS(), op.brIf(0), op.end());
  for (const [ptr, stride] of [
    [A, STRIDE_A],
    [B, STRIDE_B],
    [C, STRIDE_C],
  ] as const)
    emit(op.get(ptr), op.get(stride), op.i32Add(), op.set(ptr));
  emit(op.get(BATCH), op.i32Const(1), op.i32Sub(), op.tee(BATCH), op.brIf(0));
  emit(op.end()); // batch
  return b;
}

/** The kernel as a function `name(a, b, c, M, N, K, batch, strideA, strideB, strideC)` of a module. */
function matmulFunction(name: string, fma: boolean): FunctionDef {
  return {
    name,
    params: new Array(10).fill(valType.i32),
    results: [],
    locals: [
      ...new Array(I32_LOCALS).fill(valType.i32),
      ...new Array(V128_LOCALS).fill(valType.v128),
      ...new Array(I32_LOCALS_2).fill(valType.i32),
    ],
    body: matmulBody(fma),
  };
}

/**
 * The module's bytes: one exported function `matmul` and its exported, growable `memory`. With `importMemory` the
 * memory is imported as `env.memory`. `fma` (default: where relaxed SIMD is available) accumulates with
 * `f32x4.relaxed_madd` instead of `f32x4.mul` + `f32x4.add`: the sums are then rounded once per step instead of
 * twice, so results differ from the mul + add kernel's in the last bits.
 */
export function simdMatMulModuleBytes(
  importMemory?: ImportedMemory,
  fma = relaxedSimdAvailable(),
): Uint8Array<ArrayBuffer> {
  return encodeModule([matmulFunction('matmul', fma)], 1, importMemory);
}

/**
 * The thread pool's module (see ../../threads), on its imported shared memory: `matmul` as above, and `matmulMulAdd`,
 * always f32x4.mul + f32x4.add. Convolutions on the pool use the latter: it rounds as XNNPACK's conv does on one
 * thread, so a conv gives the same bits on any thread count (matMuls do anyway: one thread runs `matmul` too).
 */
export function simdMatMulPoolModuleBytes(
  importMemory: ImportedMemory,
  fma = relaxedSimdAvailable(),
): Uint8Array<ArrayBuffer> {
  return encodeModule([matmulFunction('matmul', fma), matmulFunction('matmulMulAdd', false)], 1, importMemory);
}

/**
 * The kernel instantiated on another module's non-shared memory — tfjs-wasm's heap — so that its `matmul(a, b, c, M,
 * N, K, batch, strideA, strideB, strideC)` reads A and B and writes C at byte offsets into it, where the tensors
 * live, with no copy in or out (on a linear layer's [3264, 64]·[64, 192] the copies took as long as half the
 * product). One instance per memory; null where it does not instantiate. The caller keeps the kernel's reads in
 * bounds: up to TILE_N floats past the end of B and of C.
 */
export const simdMatMulOn = instancePerMemory<{ matmul(...args: number[]): void }>(() =>
  simdMatMulModuleBytes({ initial: 0, shared: false }),
);

const PAGE = 65536;
/** Default chunk: A, B and C of as many problems as fit in this many bytes (at least one problem). */
const CHUNK_BYTES = 512 * 1024;
const align16 = (n: number) => Math.ceil(n / 16) * 16;

export interface SimdMatMul {
  /**
   * Batched C = A·B in float32: `a` holds batchA row-major M×K matrices, `b` batchB K×N ones; a batch of 1 is
   * broadcast against the other (batchA and batchB are equal or one of them is 1). Writes the max(batchA, batchB)
   * M×N results into `out` (allocated when not given) and returns it.
   */
  run(
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
    batchA: number,
    batchB: number,
    out?: Float32Array,
  ): Float32Array;
  /** The module's size in bytes. */
  readonly byteLength: number;
}

/**
 * Compiles and instantiates the SIMD kernel, or returns null where WebAssembly SIMD is unavailable (the module does
 * not validate) so callers keep their own implementation. Problems run in chunks of about `chunkBytes` of A, B
 * and C, small enough to stay in a core's cache between the copy in, the kernel and the copy out.
 */
export function createSimdMatMul(options: { chunkBytes?: number } = {}): SimdMatMul | null {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  if (typeof WebAssembly === 'undefined') return null;
  const bytes = simdMatMulModuleBytes();
  let instance: WebAssembly.Instance;
  try {
    if (!WebAssembly.validate(bytes)) return null;
    instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  } catch {
    return null;
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const matmul = instance.exports.matmul as (...args: number[]) => void;
  return {
    byteLength: bytes.length,
    run(a, b, m, n, k, batchA, batchB, target) {
      const batch = Math.max(batchA, batchB);
      const aSize = m * k;
      const bSize = k * n;
      const cSize = m * n;
      const out = target ?? new Float32Array(batch * cSize);
      if (out.length < batch * cSize) throw new RangeError(`SimdMatMul: out holds ${out.length} < ${batch * cSize}`);
      const perProblem = 4 * ((batchA > 1 ? aSize : 0) + (batchB > 1 ? bSize : 0) + cSize);
      const fixed = 4 * ((batchA > 1 ? 0 : aSize) + (batchB > 1 ? 0 : bSize) + 2 * TILE_N) + 64;
      const chunk = Math.max(1, Math.min(batch, Math.floor((chunkBytes - fixed) / perProblem)));
      // The layout of a full chunk; a broadcast operand is copied once and stays put. TILE_N floats of zeroed slack
      // follow B: the edge tile reads (and discards) up to 7 floats past a row.
      const aOff = 0;
      const bOff = align16(aOff + 4 * (batchA > 1 ? chunk : 1) * aSize);
      const cOff = align16(bOff + 4 * ((batchB > 1 ? chunk : 1) * bSize + TILE_N));
      // TILE_N floats of slack after C too: a later k block's edge tile reloads (and discards) up to 7 past a row.
      const needed = cOff + 4 * (chunk * cSize + TILE_N);
      if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
      const heap = new Float32Array(memory.buffer);
      if (batchA === 1) heap.set(a.subarray(0, aSize), aOff / 4);
      if (batchB === 1) heap.set(b.subarray(0, bSize), bOff / 4);
      for (let start = 0; start < batch; start += chunk) {
        const count = Math.min(chunk, batch - start);
        if (batchA > 1) heap.set(a.subarray(start * aSize, (start + count) * aSize), aOff / 4);
        if (batchB > 1) heap.set(b.subarray(start * bSize, (start + count) * bSize), bOff / 4);
        const slack = bOff / 4 + (batchB > 1 ? count : 1) * bSize;
        heap.fill(0, slack, slack + TILE_N);
        matmul(aOff, bOff, cOff, m, n, k, count, batchA > 1 ? 4 * aSize : 0, batchB > 1 ? 4 * bSize : 0, 4 * cSize);
        out.set(heap.subarray(cOff / 4, cOff / 4 + count * cSize), start * cSize);
      }
      return out;
    },
  };
}
