/**
 * A minimal WebAssembly binary encoder for hand-written SIMD kernels (no compiler toolchain: each function body
 * is built from the `op` helpers). Used by this package's wasm kernels and by @distillery/ot's Sinkhorn sweeps.
 * This module imports no tensor library.
 */
export {
  type Bytes,
  encodeModule,
  type FunctionDef,
  op,
  sleb,
  uleb,
  type ValType,
  valType,
} from './kernels/wasm-simd/wasm-encoder';
