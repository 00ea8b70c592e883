import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');

/** Every .ts/.js/.mjs file under `dir`, skipping node_modules and build output. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist') return [];
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sources(file);
    return /\.(ts|js|mjs|cjs)$/.test(name) ? [file] : [];
  });
}

/** The module specifiers a file imports or re-exports (static and dynamic). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const forms =
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s*['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(forms)) found.push((m[1] ?? m[2] ?? m[3])!);
  return found;
}

const packageFiles = readdirSync(path.join(root, 'packages')).flatMap((pkg) =>
  ['src', 'test', 'bench']
    .map((sub) => path.join(root, 'packages', pkg, sub))
    .filter((dir) => {
      try {
        return statSync(dir).isDirectory();
      } catch {
        return false;
      }
    })
    .flatMap(sources),
);

describe('import rules (CONTRIBUTING)', () => {
  it('finds the package sources it checks', () => {
    expect(packageFiles.length).toBeGreaterThan(200);
    expect(specifiers(path.join(root, 'packages/tensor/src/index.ts'))).toContain('@tensorflow/tfjs-core');
  });

  it("only packages/tensor imports '@tensorflow/tfjs-core' (everything else takes tf from @distillery/tensor)", () => {
    const offenders = packageFiles
      .filter((file) => !file.startsWith(path.join(root, 'packages/tensor/')))
      .filter((file) => specifiers(file).includes('@tensorflow/tfjs-core'))
      .map((file) => path.relative(root, file));
    expect(offenders).toEqual([]);
  });

  it('nothing in packages/ imports from examples/ or tests/', () => {
    const offenders = packageFiles.flatMap((file) =>
      specifiers(file)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => path.relative(root, path.resolve(path.dirname(file), spec)))
        .filter((target) => /^(examples|tests)(\/|$)/.test(target))
        .map((target) => `${path.relative(root, file)} → ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it("each package's shipped sources import only the @distillery packages its package.json depends on", () => {
    // pnpm links only declared dependencies: an undeclared one builds and type-checks (the workspace resolves it)
    // but the built bin fails with ERR_MODULE_NOT_FOUND.
    // (test-support is private and unbuilt: the workspace aliases resolve it, so it declares nothing)
    const offenders = readdirSync(path.join(root, 'packages')).flatMap((pkg) => {
      const dir = path.join(root, 'packages', pkg);
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (manifest.private) return [];
      const declared = new Set([
        manifest.name,
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      return sources(path.join(dir, 'src'))
        .filter((file) => !/\.test\.ts$/.test(file))
        .flatMap((file) =>
          specifiers(file)
            .map((spec) => /^@distillery\/[^/]+/.exec(spec)?.[0])
            .filter((name): name is string => name !== undefined && !declared.has(name))
            .map((name) => `${path.relative(root, file)} → ${name}`),
        );
    });
    expect(offenders).toEqual([]);
  });
});
