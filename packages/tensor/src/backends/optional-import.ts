/**
 * Imports an optional peer by a name the bundler cannot see, so browser bundles never try to resolve
 * `@tensorflow/tfjs-node` and friends, and Node's CJS build keeps a real dynamic import (which can load ESM-only
 * packages such as `webgpu`).
 */
export async function importOptional<T = unknown>(specifier: string): Promise<T> {
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as T;
}

export const isNode: boolean =
  typeof process !== 'undefined' && typeof process.versions === 'object' && process.versions?.node != null;
