/** Why the training worker runs wasm on one thread where the page is not cross-origin isolated. */
export const NOT_ISOLATED =
  'the page is not cross-origin isolated (it was served without Cross-Origin-Opener-Policy: same-origin and ' +
  'Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer is unavailable';
