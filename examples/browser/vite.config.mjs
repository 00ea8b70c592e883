// The browser app's build: plain HTML + JS modules, with tfjs-backend-wasm's binaries copied into `wasm/` of the
// output (and served at /wasm/ by the dev server), so the page never fetches anything from a CDN.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const wasmDist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
export const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];

/** The two headers that make the page cross-origin isolated. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Emits tfjs-backend-wasm's .wasm files as `wasm/<file>` assets and serves them in `vite dev`. */
function tfjsWasmFiles() {
  return {
    name: 'distillery-tfjs-wasm-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = (req.url ?? '').split('?')[0].replace(/^.*\/wasm\//, '');
        if (!req.url?.includes('/wasm/') || !WASM_FILES.includes(name)) return next();
        res.setHeader('content-type', 'application/wasm');
        res.end(readFileSync(path.join(wasmDist, name)));
      });
    },
    generateBundle() {
      for (const name of WASM_FILES) {
        this.emitFile({ type: 'asset', fileName: `wasm/${name}`, source: readFileSync(path.join(wasmDist, name)) });
      }
    },
  };
}

export default defineConfig({
  root: here,
  // Relative URLs: the built folder works from any path of any static server.
  base: './',
  plugins: [tfjsWasmFiles()],
  // One tfjs engine: the app, @distillery/* and the recipes must share a single copy of tfjs-core.
  resolve: {
    dedupe: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'],
    // pngjs (imported by @distillery/data's Node-only image-folder loader) cannot load in browsers: see the shim.
    alias: [{ find: /^pngjs$/, replacement: path.join(here, 'src/shims/pngjs.js') }],
  },
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // Cross-origin isolation (SharedArrayBuffer), so the training worker runs wasm on its thread pool. Static hosts
  // need the same two headers: see the README.
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  // The training worker is a module worker that imports the packages (code-split like the page).
  worker: { format: 'es' },
});
