export { createRng, Rng, type RngState } from './rng';
export { randomBernoulli, randomNormal, randomTruncatedNormal, randomUniform } from './tensors';
