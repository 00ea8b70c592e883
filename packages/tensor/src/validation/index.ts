export { readSyncIfResident } from './read';
export {
  assertDtype,
  assertFinite,
  assertLabels,
  assertLogits,
  assertRank,
  assertSameShape,
  assertShape,
  assertTensor,
} from './tensor-checks';
