// `pnpm bench`: runs every packages/*/bench/*.bench.mjs over the built packages, one after another (they time
// things, so never in parallel), and passes through their tables. `pnpm bench <filter>` runs the files whose path
// contains <filter>.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2];
const files = readdirSync(path.join(root, 'packages'))
  .flatMap((pkg) => {
    const dir = path.join(root, 'packages', pkg, 'bench');
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.bench.mjs'))
        .map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  })
  .filter((file) => !filter || file.includes(filter));

// Node 20 has WebAssembly relaxed SIMD (the matMul kernel's fused multiply-add) behind a flag, which the `distillery`
// command sets for itself: the benches run with it too, so they time what the command runs. Running a bench file
// directly with plain `node` times the kernel without it.
const flags = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
if (flags.length) console.log(`(node ${flags.join(' ')}, as the distillery command runs)`);
let failed = 0;
for (const file of files) {
  console.log(`\n## ${path.relative(root, file)}\n`);
  const result = spawnSync(process.execPath, [...flags, file], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) failed++;
}
if (failed) {
  console.error(`${failed} benchmark file(s) failed`);
  process.exit(1);
}
