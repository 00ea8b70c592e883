// @distillery/data imports pngjs at module level for its Node-only image-folder loader; pngjs needs Node's stream
// and util modules and throws at import in browsers. This page never reads image folders, so the build swaps pngjs
// for this stand-in (vite.config.mjs), which only fails if something actually tries to decode a PNG.
const unavailable = () => {
  throw new Error('pngjs is not available in the browser build (image folders need Node)');
};

export const PNG = { sync: { read: unavailable, write: unavailable } };
export default { PNG };
