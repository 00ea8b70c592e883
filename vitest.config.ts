import { readdirSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests run against package sources: '@distillery/x' resolves to packages/x/src. The built packages are tested the
// way users import them by tests/packaging.test.ts (packed, installed, run in plain Node).
const packagesDir = path.resolve(__dirname, 'packages');
const alias = readdirSync(packagesDir).flatMap((name) => [
  { find: new RegExp(`^@distillery/${name}$`), replacement: path.join(packagesDir, name, 'src/index.ts') },
  { find: new RegExp(`^@distillery/${name}/(.*)$`), replacement: path.join(packagesDir, name, 'src/$1') },
]);

const unitInclude = ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'];

/**
 * Each backend gets a project: the same unit suites run on cpu and on wasm (one thread), and the tensor and vit suites
 * again on wasm with two threads (`wasm-threads`: every matMul and conv on the thread pool, with relaxed SIMD on).
 */
const backendProject = (backend: 'cpu' | 'wasm', threads = 1, include = unitInclude) => ({
  resolve: { alias },
  test: {
    name: threads > 1 ? `${backend}-threads` : backend,
    include,
    setupFiles: [path.resolve(__dirname, 'scripts/vitest-setup.ts')],
    // With threads, every matMul and conv goes to the pool, however small (DISTILLERY_THREADS_MIN_FLOPS=0).
    env: {
      DISTILLERY_TEST_BACKEND: backend,
      DISTILLERY_THREADS: String(threads),
      ...(threads > 1 ? { DISTILLERY_THREADS_MIN_FLOPS: '0' } : {}),
    },
    // The threaded project also runs the relaxed-SIMD (FMA) matMul kernel, which Node 20 has behind a flag.
    ...(threads > 1 ? { execArgv: ['--experimental-wasm-relaxed-simd'] } : {}),
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

export default defineConfig({
  test: {
    reporters: ['default', path.resolve(__dirname, 'scripts/summary-reporter.ts')],
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      backendProject('cpu'),
      backendProject('wasm'),
      backendProject('wasm', 2, ['packages/{tensor,vit}/src/**/*.test.ts', 'packages/{tensor,vit}/test/**/*.test.ts']),
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts', 'examples/*/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
