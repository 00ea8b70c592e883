// Activates the backend this vitest project runs on before any test file executes.
import { initBackend } from '@distillery/tensor';
import { beforeAll } from 'vitest';

const backend = (process.env.DISTILLERY_TEST_BACKEND ?? 'cpu') as 'cpu' | 'wasm';

beforeAll(async () => {
  await initBackend(backend);
});
