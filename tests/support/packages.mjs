import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The publishable workspace packages: packages/* with a name and a built dist/. */
export function workspacePackages() {
  const dir = path.join(root, 'packages');
  // DISTILLERY_PACKAGES=tensor,losses narrows the set while developing.
  const only = process.env.DISTILLERY_PACKAGES?.split(',');
  return readdirSync(dir)
    .filter((name) => !only || only.includes(name))
    .map((name) => path.join(dir, name))
    .filter((pkgDir) => {
      try {
        return JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).private !== true;
      } catch {
        return false;
      }
    })
    .map((pkgDir) => ({ dir: pkgDir, manifest: JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) }));
}
