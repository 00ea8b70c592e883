import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Fixtures {
  /** The parsed JSON fixture `name`. */
  json<T = Record<string, unknown>>(name: string): T;
  /** The raw bytes of fixture `name` (safetensors, IDX, images). */
  bytes(name: string): Uint8Array;
  /** The absolute path of fixture `name`. */
  path(name: string): string;
}

/** Loaders for the fixtures in `dir` (a package's `test/fixtures`, produced by the scripts in `tools/reference/`). */
export function fixturesIn(dir: string): Fixtures {
  const at = (name: string) => path.join(dir, name);
  return {
    json: <T>(name: string) => JSON.parse(readFileSync(at(name), 'utf8')) as T,
    bytes: (name) => new Uint8Array(readFileSync(at(name))),
    path: at,
  };
}
