import { defineConfig } from 'tsup';

// Two entries: `index` (everything) and `load` (loadModel and the model classes it builds, for inference-only
// bundles). Code splitting in both formats puts their shared modules in one chunk, so a VisionTransformer from
// `@distillery/vit/load` is the same class as the one from `@distillery/vit`.
export default defineConfig({
  entry: { index: 'src/index.ts', load: 'src/load.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@distillery\//, /^node:/],
});
