// Runs the conformance cases on cpu, wasm and WebGPU (Dawn from the `webgpu` package) in plain Node, importing the
// built @distillery/tensor, and prints the report as JSON on the last line.
import { runConformance } from '@distillery/tensor';

const report = await runConformance(['cpu', 'wasm', 'webgpu']);
const { results, ...summary } = report;
summary.cases = Object.keys(results.cpu ?? {}).length;
summary.casesPerBackend = Object.fromEntries(Object.entries(results).map(([b, r]) => [b, Object.keys(r).length]));
console.log(JSON.stringify(summary));
process.exit(0);
