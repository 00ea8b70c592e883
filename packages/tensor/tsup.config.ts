import { createRequire } from 'node:module';
import path from 'node:path';
import { defineConfig, type Options } from 'tsup';

// Node cannot import tfjs-core's ESM gradient modules (see src/register/gradients.ts), so the Node builds bundle
// them; the bare '@tensorflow/tfjs-core' stays external so every copy talks to the user's engine.
const require = createRequire(import.meta.url);
const tfjsCoreDist = path.dirname(require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js'));
const bundleTfjsRegistration: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'bundle-tfjs-registration',
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\/tfjs-core$/ }, (args) => ({ path: args.path, external: true }));
    // tfjs-core's package.json marks these registration modules side-effect free, which would drop them.
    build.onResolve({ filter: /^@tensorflow\/tfjs-core\/dist\// }, (args) => ({
      path: path.join(tfjsCoreDist, `${args.path.slice('@tensorflow/tfjs-core/dist/'.length)}.js`),
      sideEffects: true,
    }));
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(tfjsCoreDist)) return undefined;
      return { path: `${path.resolve(path.dirname(args.importer), args.path)}.js`, sideEffects: true };
    });
  },
};

// Code splitting for both formats: `index` and `errors` (and `wasm`) share one chunk for the modules they have in
// common, so `DistilleryError` is ONE class whether a package imports it from `@distillery/tensor` or from
// `@distillery/tensor/errors` (a bundled copy per entry made `instanceof` fail across packages).
const shared: Options = {
  target: 'es2022',
  sourcemap: true,
  splitting: true,
  treeshake: true,
  external: [
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    'webgpu',
  ],
};

export default defineConfig([
  {
    ...shared,
    entry: { index: 'src/index.ts', errors: 'src/errors.ts', register: 'src/register.ts', wasm: 'src/wasm.ts' },
    format: ['esm', 'cjs'],
    platform: 'node',
    dts: true,
    clean: true,
    noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
    esbuildPlugins: [bundleTfjsRegistration],
  },
  {
    ...shared,
    entry: { index: 'src/index.ts', errors: 'src/errors.ts', register: 'src/register.ts' },
    outDir: 'dist/browser',
    format: ['esm'],
    platform: 'browser',
    dts: false,
    external: [...(shared.external ?? []), /^@tensorflow\/tfjs-core/],
  },
]);
