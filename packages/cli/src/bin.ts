import { main } from './main';

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
