// METHODS.md maps every method to its code. This test keeps it honest: every backticked repository path exists, and
// every backticked name on a line that names a package (`@distillery/<pkg>`) is exported by that package's
// src/index.ts and appears in the source file named after it on that line.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const text = readFileSync(path.join(root, 'METHODS.md'), 'utf8');

/** Top-level folders whose backticked mentions are repository paths. */
const PATH_ROOTS = ['packages/', 'examples/', 'tools/', 'tests/', 'scripts/'];

/** The names a package's index exports (`export { a, type B, c as d }`, `export function/class/const x`). */
function indexExports(pkg: string): Set<string> {
  const file = path.join(root, 'packages', pkg, 'src/index.ts');
  const source = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const block of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of block[1]!.split(',')) {
      const parts = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      const name = (parts[1] ?? parts[0])!.trim();
      if (name) names.add(name);
    }
  }
  for (const m of source.matchAll(
    /export\s+(?:declare\s+)?(?:async\s+)?(?:function|class|const|let|interface|type)\s+([A-Za-z_$][\w$]*)/g,
  )) {
    names.add(m[1]!);
  }
  return names;
}

/** Logical entries: a list item with its wrapped continuation lines joined. */
function entries(markdown: string): string[] {
  const out: string[] = [];
  for (const line of markdown.split('\n')) {
    if (/^\s{2,}\S/.test(line) && out.length > 0) out[out.length - 1] += ` ${line.trim()}`;
    else out.push(line);
  }
  return out;
}

const backticked = (s: string) => [...s.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
const isRepoPath = (s: string) => PATH_ROOTS.some((r) => s.startsWith(r));
const isIdentifier = (s: string) => /^[A-Za-z_$][\w$]*$/.test(s);

describe('METHODS.md', () => {
  it('names only repository paths that exist', () => {
    const paths = backticked(text).filter(isRepoPath);
    expect(paths.length).toBeGreaterThan(60);
    const missing = paths.filter((p) => !existsSync(path.join(root, p)));
    expect(missing).toEqual([]);
  });

  it('names only exports that exist, each in the file it is said to live in', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const entry of entries(text)) {
      if (!entry.includes('`@distillery/')) continue;
      // Clauses like "`a` and `b` from `@distillery/x`, in `packages/x/src/f.ts`" separated by ';'.
      for (const clause of entry.split(';')) {
        const pkg = /`@distillery\/([\w-]+)`/.exec(clause)?.[1];
        if (!pkg) continue;
        const exports = indexExports(pkg);
        const file = backticked(clause).find((t) => isRepoPath(t) && t.endsWith('.ts'));
        const source = file && existsSync(path.join(root, file)) ? readFileSync(path.join(root, file), 'utf8') : '';
        for (const name of backticked(clause).filter(isIdentifier)) {
          checked++;
          if (!exports.has(name)) problems.push(`${name}: not exported by packages/${pkg}/src/index.ts`);
          if (!file) problems.push(`${name}: no source file named with it`);
          else if (!new RegExp(`export\\s+(?:async\\s+)?(?:function|class|const)\\s+${name}\\b`).test(source)) {
            problems.push(`${name}: not defined in ${file}`);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(problems).toEqual([]);
  });
});
