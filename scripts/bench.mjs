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

let failed = 0;
for (const file of files) {
  console.log(`\n## ${path.relative(root, file)}\n`);
  const result = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) failed++;
}
if (failed) {
  console.error(`${failed} benchmark file(s) failed`);
  process.exit(1);
}
