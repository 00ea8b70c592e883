// Serves the browser page of this example with a trained student: the page (page.js bundled for the browser by
// esbuild, with the built @distillery/vit/load and @distillery/tensor), RUN/model.json and the weights it names.
// Only on 127.0.0.1, only those files. Prints the address; Ctrl-C stops it.
//
//   node examples/distill-own/serve.mjs RUN [--port P]   (RUN: the --out folder of `distillery distill`)
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  options: { port: { type: 'string', default: '8080' } },
  allowPositionals: true,
});
const port = Number(values.port);
if (positionals.length !== 1 || !Number.isInteger(port) || port < 0) {
  console.error('usage: node serve.mjs RUN [--port P]   (RUN: the folder holding model.json)');
  process.exit(2);
}
const run = path.resolve(positionals[0]);
let json;
try {
  json = JSON.parse(readFileSync(path.join(run, 'model.json'), 'utf8'));
} catch (error) {
  console.error(`${path.join(run, 'model.json')}: ${error.message}`);
  process.exit(2);
}
const weights = json.weights ?? 'model.safetensors';

const bundle = await build({
  entryPoints: [path.join(here, 'page.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'error',
  // the Node-only readers are imported lazily and never run in a page
  external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
  define: { 'process.env.NODE_ENV': '"production"' },
});

const routes = {
  '/': ['text/html', () => readFileSync(path.join(here, 'index.html'))],
  '/page.js': ['text/javascript', () => bundle.outputFiles[0].contents],
  '/model/model.json': ['application/json', () => readFileSync(path.join(run, 'model.json'))],
  [`/model/${weights}`]: ['application/octet-stream', () => readFileSync(path.join(run, weights))],
};
const server = http.createServer((req, res) => {
  const route = routes[new URL(req.url ?? '/', 'http://127.0.0.1').pathname];
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = route[1]();
    res.writeHead(200, { 'content-type': route[0] }).end(body);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
  }
});
server.listen(port, '127.0.0.1', () => {
  console.log(`student page: http://127.0.0.1:${server.address().port}/  (Ctrl-C to stop)`);
});
