import { checkOptions, DistilleryError, describeValue, tf } from '@distillery/tensor';
import type { Teacher } from './teacher';

export type TeacherFormat = 'distillery' | 'tfjs-layers' | 'tfjs-graph';

export interface LoadTeacherOptions {
  /** The fetch used for URLs (default: the global fetch). */
  fetch?: typeof fetch;
}

/** A teacher read from a model.json, ready for `distill({ teacher: loaded.model, ... })`. */
export interface LoadedTeacher {
  format: TeacherFormat;
  /** A Distillery model (`loadModel`), a tfjs-layers `LayersModel` or a tfjs-converter `GraphModel`. */
  model: Teacher;
  /** Class names when the file records them (Distillery model.json). */
  classes?: string[];
  /** Frees the model's weights. */
  dispose(): void;
}

/** The optional peers, named in the error when one is missing. */
const PACKAGES = { 'tfjs-layers': '@tensorflow/tfjs-layers', 'tfjs-graph': '@tensorflow/tfjs-converter' } as const;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

interface WeightsGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/**
 * Loads a teacher from its model.json, whichever kind it is:
 * - a Distillery model.json (`format: 'distillery-model'`, from `saveModel` / `distillery distill`): `loadModel` of
 *   `@distillery/vit/load`, with its safetensors;
 * - a tfjs Layers model (`format: 'layers-model'`, or a `modelTopology` with a Keras `model_config` / `class_name`:
 *   `model.save()` of tfjs-layers, `tensorflowjs_converter --input_format keras`): `@tensorflow/tfjs-layers`;
 * - a tfjs graph model (`format: 'graph-model'`: `tensorflowjs_converter` of a SavedModel, most of tfjs-models):
 *   `@tensorflow/tfjs-converter`.
 * `source` is a path or a `file:` URL in Node, an `http(s):` URL (or a URL relative to the page) in a browser; the
 * weight files are read next to the json. The two tfjs packages are optional peers, imported only for their format;
 * a missing one is a DistilleryError naming the package to install. Not a model.json, an unknown format or a missing
 * weights file is a DistilleryError naming the file.
 */
export async function loadTeacher(source: string | URL, options: LoadTeacherOptions = {}): Promise<LoadedTeacher> {
  const o = checkOptions<LoadTeacherOptions>(options, { fetch: true });
  if (!(source instanceof URL) && (typeof source !== 'string' || source === '')) {
    throw new DistilleryError(
      'INVALID_ARGUMENT',
      `source: expected a model.json path or URL, got ${describeValue(source)}`,
      { argument: 'source', expected: 'a model.json path or URL', actual: describeValue(source) },
    );
  }
  const files = await fileReader(source, o.fetch);
  const json = parseJson(await files.read(files.name, 'source'), files.name);
  const format = detectFormat(json, files.name);
  if (format === 'distillery') {
    const { loadModel } = await import('@distillery/vit/load');
    const loaded = await loadModel(files.nodePath ?? files.name, o.fetch ? { fetch: o.fetch } : {});
    return {
      format,
      model: loaded.model,
      ...(loaded.classes ? { classes: loaded.classes } : {}),
      dispose: () => loaded.model.dispose(),
    };
  }
  const artifacts = await readArtifacts(json, files);
  const handler = tf.io.fromMemory(artifacts);
  try {
    if (format === 'tfjs-layers') {
      const layers = await optionalPeer(format, () => import('@tensorflow/tfjs-layers'));
      const model = await layers.loadLayersModel(handler);
      return { format, model: model as unknown as Teacher, dispose: () => model.dispose() };
    }
    const converter = await optionalPeer(format, () => import('@tensorflow/tfjs-converter'));
    const model = await converter.loadGraphModel(handler);
    return { format, model: model as unknown as Teacher, dispose: () => model.dispose() };
  } catch (error) {
    if (error instanceof DistilleryError) throw error;
    const kind = format === 'tfjs-layers' ? 'tfjs Layers model' : 'tfjs graph model';
    throw new DistilleryError('FORMAT', `${files.name}: could not load as a ${kind} (${(error as Error).message})`, {
      argument: files.name,
      expected: `a loadable ${kind}`,
      actual: (error as Error).message,
    });
  }
}

async function optionalPeer<T>(format: keyof typeof PACKAGES, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const name = PACKAGES[format];
    throw new DistilleryError(
      'INVALID_ARGUMENT',
      `source: a ${format === 'tfjs-layers' ? 'tfjs Layers' : 'tfjs graph'} model needs the optional package ${name}, which could not be imported (npm i ${name}@4.22.0): ${(error as Error).message}`,
      { argument: 'source', expected: `${name} installed`, actual: 'not found' },
    );
  }
}

function parseJson(bytes: Uint8Array, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new DistilleryError(
      'FORMAT',
      `${file}: expected a model.json (JSON), got unparseable text (${(error as Error).message})`,
      {
        argument: file,
        expected: 'a model.json',
        actual: 'unparseable text',
      },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DistilleryError('FORMAT', `${file}: expected a model.json (a JSON object), got ${describeValue(value)}`, {
      argument: file,
      expected: 'a JSON object',
      actual: describeValue(value),
    });
  }
  return value as Record<string, unknown>;
}

function detectFormat(json: Record<string, unknown>, file: string): TeacherFormat {
  if (json.format === 'distillery-model') return 'distillery';
  if (json.format === 'graph-model') return 'tfjs-graph';
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (
    json.format === 'layers-model' ||
    (json.format === undefined &&
      topology &&
      typeof topology === 'object' &&
      ('model_config' in topology || 'class_name' in topology))
  ) {
    return 'tfjs-layers';
  }
  const given =
    json.format !== undefined
      ? `format ${describeValue(json.format)}`
      : `no format (keys: ${Object.keys(json).join(', ') || 'none'})`;
  throw new DistilleryError(
    'FORMAT',
    `${file}: expected a model.json of a Distillery model (format 'distillery-model'), a tfjs Layers model ('layers-model') or a tfjs graph model ('graph-model'), got ${given}`,
    { argument: file, expected: "format 'distillery-model', 'layers-model' or 'graph-model'", actual: given },
  );
}

/** The json's weight files, concatenated in manifest order (what tfjs' own loaders do). */
async function readArtifacts(json: Record<string, unknown>, files: FileReader): Promise<tf.io.ModelArtifacts> {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest) || manifest.some((g) => !g || !Array.isArray(g.paths) || !Array.isArray(g.weights))) {
    throw new DistilleryError(
      'FORMAT',
      `${files.name}: expected weightsManifest, a list of { paths, weights }, got ${describeValue(manifest)}`,
      { argument: files.name, expected: 'weightsManifest [{ paths, weights }]', actual: describeValue(manifest) },
    );
  }
  const groups = manifest as WeightsGroup[];
  const parts: Uint8Array[] = [];
  for (const group of groups) for (const p of group.paths) parts.push(await files.read(files.resolve(p), files.name));
  const data = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.byteLength;
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: groups.flatMap((g) => g.weights),
    weightData: data.buffer,
  };
  for (const key of [
    'format',
    'generatedBy',
    'convertedBy',
    'signature',
    'userDefinedMetadata',
    'modelInitializer',
    'trainingConfig',
  ] as const) {
    if (json[key] !== undefined) (artifacts as Record<string, unknown>)[key] = json[key];
  }
  return artifacts;
}

interface FileReader {
  /** The json's path (Node) or URL, as errors name it. */
  name: string;
  /** The local path in Node (for loadModel), when source is a path or a file: URL. */
  nodePath?: string;
  resolve(relative: string): string;
  read(name: string, from: string): Promise<Uint8Array>;
}

async function fileReader(source: string | URL, fetcher: typeof fetch | undefined): Promise<FileReader> {
  const isUrl = source instanceof URL || !isNode || /^[a-z][a-z\d+.-]*:\/\//i.test(source);
  if (isNode && (!isUrl || new URL(String(source)).protocol === 'file:')) {
    const { fs, path, fileURLToPath } = await nodeModules();
    const file = isUrl ? fileURLToPath(new URL(String(source))) : (source as string);
    return {
      name: file,
      nodePath: file,
      resolve: (relative) => path.join(path.dirname(file), relative),
      read: async (name, from) => {
        try {
          return new Uint8Array(await fs.readFile(name));
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const reason = code === 'ENOENT' ? 'no such file' : (error as Error).message;
          throw ioError(name, reason, from);
        }
      },
    };
  }
  const url = new URL(String(source), typeof location !== 'undefined' ? location.href : undefined);
  const get = fetcher ?? globalThis.fetch;
  return {
    name: url.href,
    resolve: (relative) => new URL(relative, url).href,
    read: async (name, from) => {
      if (typeof get !== 'function') throw ioError(name, 'no fetch function here (options.fetch)', from);
      let response: Response;
      try {
        response = await get(name);
      } catch (error) {
        throw ioError(name, (error as Error).message, from);
      }
      if (!response.ok) throw ioError(name, `HTTP ${response.status} ${response.statusText}`.trim(), from);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

function ioError(name: string, reason: string, from: string): DistilleryError {
  const of = from === 'source' ? '' : `, a weights file of ${from}`;
  return new DistilleryError('IO', `${name}: could not read (${reason})${of}`, {
    argument: name,
    expected: 'a readable file',
    actual: reason,
  });
}

/** `node:fs/promises`, `node:path`, `node:url` through runtime specifiers, so browser bundlers leave them alone. */
async function nodeModules() {
  const load = (name: string) => import(/* webpackIgnore: true */ /* @vite-ignore */ ['node', name].join(':'));
  const [fs, path, url] = await Promise.all([load('fs/promises'), load('path'), load('url')]);
  return {
    fs: fs as typeof import('node:fs/promises'),
    path: (path.default ?? path) as typeof import('node:path'),
    fileURLToPath: url.fileURLToPath as (url: URL) => string,
  };
}
