// Child process of loop.test.ts: trains with checkpoints and hangs in the middle of epoch 2 until it is killed.
import { initBackend } from '@distillery/tensor';
import { fit } from '../src/loop/fit';
import { makeSetup } from './loop-setup';

async function main() {
  await initBackend('cpu');
  const s = makeSetup();
  await fit({
    ...s,
    batchSize: 16,
    epochs: 4,
    seed: 5,
    checkpoint: process.env.CKPT!,
    logFile: process.env.LOG!,
    progress: 'none',
    onBatchEnd: async (info) => {
      if (info.epoch === 2 && info.batchIndex === 2) {
        process.stdout.write('MID-EPOCH\n');
        await new Promise(() => {});
      }
    },
  });
}
main();
