// Runs one recipe's smoke configuration on WebGPU in plain Node (Dawn + SwiftShader) and counts synchronous reads of
// GPU-resident tensors (dataSync/arraySync of data that is not on the host), which WebGPU in browsers cannot do.
// Each such read is recorded (with where it came from) and then refused, as the browser app does.
// Usage (a manual check, too slow for the suite: a minute or two per recipe on SwiftShader):
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json XDG_RUNTIME_DIR=/tmp \
//   node tests/support/webgpu-recipe-reads.mjs <recipe> <out dir>
// Prints { backend, gpuSyncReads, where, error } as JSON on the last line.
import { runRecipe } from '@distillery/cli';
import { initBackend, tf } from '@distillery/tensor';

const [name, out] = process.argv.slice(2);
const { recipe } = await import(`../../examples/${name}/recipe.mjs`);
const backend = await initBackend('webgpu');
const gpu = tf.backend();
const readSync = gpu.readSync.bind(gpu);
const where = [];
gpu.readSync = (dataId) => {
  if (gpu.tensorMap?.get(dataId)?.values != null) return readSync(dataId);
  const stack = new Error().stack
    .split('\n')
    .slice(2, 8)
    .map((l) => l.trim());
  where.push(stack);
  throw new Error('synchronous read of a WebGPU tensor');
};
let error = null;
try {
  await runRecipe(recipe, { backend: 'webgpu', smoke: true, out, progress: 'none', print: () => {} });
} catch (e) {
  error = String(e?.message ?? e);
}
console.log(JSON.stringify({ backend, gpuSyncReads: where.length, where: where.slice(0, 3), error }));
process.exit(0);
