/**
 * `import '@distillery/tensor/register'`: registers Distillery's kernels and gradients for the cpu and wasm backends
 * (see `registerKernels`), for code that activates its backend with `tf.setBackend` instead of `initBackend`.
 * Importing `@distillery/tensor` itself changes no kernel of tfjs' registry.
 */
import { registerKernels } from './register/kernels';

registerKernels();

export { registerKernels };
