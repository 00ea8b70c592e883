/**
 * What the workspace's tests share (private, never published): elementwise closeness, DistilleryError checks and
 * fixture loaders. Package tests import it as `@distillery/test-support`; vitest and `pnpm typecheck` resolve it to
 * this folder, as they do every `@distillery/*` package.
 */
export { expectClose, expectScaledClose } from './close';
export {
  caught,
  caughtAsync,
  type ErrorExpectation,
  expectDistilleryError,
  expectDistilleryErrorAsync,
} from './errors';
export { type Fixtures, fixturesIn } from './fixtures';
