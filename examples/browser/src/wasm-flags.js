// tfjs-backend-wasm loads its own pthread build (tfjs-backend-wasm-threaded-simd) whenever SharedArrayBuffer exists,
// i.e. in a cross-origin-isolated page. That build starts its workers from a function's source text, which Vite's
// minified bundle breaks ("ReferenceError: e is not defined" in every pthread worker), and Distillery's matMul and
// conv kernels run on @distillery/tensor's own thread pool anyway. So the app keeps tfjs on its single-threaded SIMD
// build. Imported first by the page and by the training worker.
import '@tensorflow/tfjs-backend-wasm';
import { tf } from '@distillery/tensor';

tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
