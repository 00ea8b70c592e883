import { describeBackends, initBackend } from '@distillery/tensor';
import { formatTable } from '../table';

/** `distillery backends`: what describeBackends() sees here, which one 'auto' picks, and why others are missing. */
export async function backendsCommand(print: (line: string) => void): Promise<number> {
  const picked = await initBackend('auto');
  const reports = await describeBackends();
  const rows = reports.map((r) => [
    r.source,
    r.backend,
    r.available === true ? 'yes' : r.available === false ? 'no' : 'not probed',
    r.active ? '*' : '',
    r.available ? (r.detail ?? '') : (r.reason ?? ''),
  ]);
  print(formatTable(['source', 'tfjs name', 'available', 'active', 'detail / why not'], rows));
  print(`\n'auto' picks: ${picked}`);
  for (const r of reports.filter((x) => x.available === false)) print(`  to get ${r.source}: ${r.install}`);
  return 0;
}
