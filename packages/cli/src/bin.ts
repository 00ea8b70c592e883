import { setFlagsFromString } from 'node:v8';
import { main } from './main';

// WebAssembly relaxed SIMD gives the wasm matMul kernel a fused multiply-add (~8–10% off a ViT training step). Node
// ≥ 22 has it on; Node 20 has it behind a V8 flag, which the command sets for its own process (before any module is
// compiled) unless the flag was given either way.
const nodeOptions = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
if (Number(process.versions.node.split('.')[0]) < 22 && !nodeOptions.includes('wasm-relaxed-simd')) {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
}

// A first Ctrl-C stops at the end of the current training step (fit yields to the event loop after each one);
// checkpoints are written atomically at each epoch end, so `--resume` continues from the last finished epoch.
process.once('SIGINT', () => {
  process.stderr.write(
    '\ndistillery: interrupted; run the same command with --resume to continue from the last checkpoint\n',
  );
  process.exit(130);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `distillery: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
