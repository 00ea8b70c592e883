// The browser conformance page: imports the built @distillery/tensor (its "browser" export) the way an app bundler
// does, runs every conformance case on cpu, wasm and WebGPU, and publishes the report on window.__conformance.
import { describeBackends, initBackend, runConformance, tf } from '@distillery/tensor';

async function main() {
  await initBackend('wasm', { wasmPaths: '/wasm/' });
  const report = await runConformance(['cpu', 'wasm', 'webgpu']);
  const { results, ...summary } = report;
  summary.cases = Object.keys(results.cpu ?? {}).length;
  summary.casesPerBackend = Object.fromEntries(Object.entries(results).map(([b, r]) => [b, Object.keys(r).length]));
  summary.backendsSeen = (await describeBackends()).map((b) => ({
    source: b.source,
    available: b.available,
    reason: b.reason,
    detail: b.detail,
  }));
  summary.activeBackend = tf.getBackend();
  document.body.textContent = summary.passed ? 'conformance passed' : 'conformance FAILED';
  return summary;
}

main()
  .then((summary) => {
    window.__conformance = summary;
  })
  .catch((error) => {
    window.__conformance = { fatal: String(error?.stack ?? error) };
  });
