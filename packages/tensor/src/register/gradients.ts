/**
 * tfjs-core's public entry registers no gradients and no chained ops (`x.add(y)`); only the `@tensorflow/tfjs`
 * union does. Its registration modules ship as ESM inside a CommonJS package, which Node cannot load directly, so
 * the Node builds of this package bundle them (tsup.config.ts) and the browser build leaves them to the user's
 * bundler. Both paths register into tfjs-core's global registries, which are shared by every copy of its code.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
