import {
  checkOptions,
  DistilleryError,
  describeValue,
  parseSafetensors,
  serializeSafetensors,
  tf,
} from '@distillery/tensor';
import { ResNetCifar, type ResNetCifarConfig } from '../cnn/resnet-cifar';
import { safetensorsToStateDict, stateDictToSafetensors } from '../core/module';
import { RESNET_ARCHITECTURES, ResNet, type ResNetArchitecture } from '../resnet/resnet';
import { VisionTransformer, type VisionTransformerConfig } from '../vit/vision-transformer';

/** The `format` field of every model.json. */
export const MODEL_FORMAT = 'distillery-model';
/** The model.json version this package writes and reads. */
export const MODEL_FORMAT_VERSION = 1;

export const MODEL_ARCHITECTURES = ['vit', 'deit', ...RESNET_ARCHITECTURES, 'resnet-cifar'] as const;
/** 'vit' / 'deit' (VisionTransformer without / with the distillation token), the torchvision ResNets, 'resnet-cifar'. */
export type ModelArchitecture = (typeof MODEL_ARCHITECTURES)[number];

/** The models `saveModel` writes and `loadModel` rebuilds. */
export type SavableModel = VisionTransformer | ResNet | ResNetCifar;

/**
 * model.json: what to build and where its weights are. `config` is the model's constructor config (without the
 * seed); `weights` is the safetensors file next to the json (timm / torchvision names and PyTorch layouts).
 */
export interface ModelJson {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_FORMAT_VERSION;
  architecture: ModelArchitecture;
  config: Record<string, unknown>;
  /** The weights file, relative to the json. Default 'model.safetensors'. */
  weights?: string;
  /** Class names, index i is logit i (as many as the model has classes). */
  classes?: string[];
  /** Free-form JSON the caller stores with the model (e.g. the input normalisation, the training run). */
  metadata?: Record<string, unknown>;
}

const JSON_KEYS = ['format', 'version', 'architecture', 'config', 'weights', 'classes', 'metadata'];

export interface SaveModelOptions {
  /** Node: write `model.json` and `model.safetensors` into this folder (created if missing). */
  dir?: string;
  classes?: string[];
  metadata?: Record<string, unknown>;
}

export interface SavedModel {
  json: ModelJson;
  /** The safetensors bytes (what `model.safetensors` holds). */
  weights: Uint8Array;
  /** The files written, with `dir`. */
  files?: { json: string; weights: string };
}

/** The architecture and config model.json records for a model. */
function describeModel(model: SavableModel): { architecture: ModelArchitecture; config: Record<string, unknown> } {
  if (model instanceof VisionTransformer) {
    return { architecture: model.config.distilled ? 'deit' : 'vit', config: { ...model.config } };
  }
  if (model instanceof ResNet) {
    const { architecture, ...config } = model.config;
    return { architecture, config };
  }
  if (model instanceof ResNetCifar) return { architecture: 'resnet-cifar', config: { ...model.config } };
  throw new DistilleryError(
    'INVALID_ARGUMENT',
    `model: expected a VisionTransformer, ResNet or ResNetCifar, got ${describeValue(model)}`,
    { argument: 'model', expected: 'a VisionTransformer, ResNet or ResNetCifar' },
  );
}

function numClassesOf(model: SavableModel): number {
  return model.config.numClasses;
}

function checkClasses(classes: unknown, numClasses: number, argument: string): string[] {
  if (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string')) {
    throw new DistilleryError(
      'INVALID_ARGUMENT',
      `${argument}: expected an array of class names (strings), got ${describeValue(classes)}`,
      {
        argument,
      },
    );
  }
  if (classes.length !== numClasses) {
    throw new DistilleryError(
      'SHAPE_MISMATCH',
      `${argument}: expected ${numClasses} class names (the model's classes), got ${classes.length}`,
      { argument, expected: String(numClasses), actual: String(classes.length) },
    );
  }
  return [...classes] as string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/**
 * Saves a trained model for inference: `model.safetensors` (timm / torchvision names, PyTorch layouts, so PyTorch
 * can read it too) and `model.json` (`{ format: 'distillery-model', version: 1, architecture, config, weights,
 * classes?, metadata? }`). With `dir` (Node) both files are written there; the bytes are always returned (browsers:
 * offer them as downloads). Weights are read asynchronously (no synchronous GPU read).
 */
export async function saveModel(model: SavableModel, options: SaveModelOptions = {}): Promise<SavedModel> {
  const o = checkOptions<SaveModelOptions>(options, { dir: true, classes: true, metadata: true });
  const { architecture, config } = describeModel(model);
  const json: ModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    architecture,
    config,
    weights: 'model.safetensors',
  };
  if (o.classes !== undefined) json.classes = checkClasses(o.classes, numClassesOf(model), 'options.classes');
  if (o.metadata !== undefined) {
    if (!isPlainObject(o.metadata)) {
      throw new DistilleryError(
        'INVALID_ARGUMENT',
        `options.metadata: expected a JSON object, got ${describeValue(o.metadata)}`,
        {
          argument: 'options.metadata',
        },
      );
    }
    json.metadata = JSON.parse(JSON.stringify(o.metadata)) as Record<string, unknown>;
  }
  const weights = serializeSafetensors(stateDictToSafetensors(await model.stateDictAsync()), {
    format: 'pt',
    architecture,
  });
  if (o.dir === undefined) return { json, weights };
  if (typeof o.dir !== 'string' || o.dir === '') {
    throw new DistilleryError('INVALID_ARGUMENT', `options.dir: expected a folder path, got ${describeValue(o.dir)}`, {
      argument: 'options.dir',
    });
  }
  const { fs, path } = await nodeModules();
  const files = { json: path.join(o.dir, 'model.json'), weights: path.join(o.dir, 'model.safetensors') };
  try {
    await fs.mkdir(o.dir, { recursive: true });
    await writeAtomically(fs, files.weights, weights);
    await writeAtomically(fs, files.json, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
  } catch (error) {
    if (error instanceof DistilleryError) throw error;
    throw new DistilleryError('IO', `options.dir: could not write ${o.dir} (${(error as Error).message})`, {
      argument: 'options.dir',
    });
  }
  return { json, weights, files };
}

async function writeAtomically(fs: NodeFs, file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    await fs.writeFile(temp, bytes);
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Checks a parsed model.json and returns it typed. `file` names the json in every error ("runs/a/model.json:
 * version: expected 1, got 2").
 */
export function parseModelJson(value: unknown, file = 'model.json'): ModelJson {
  const fail = (key: string, expected: string, actual: unknown, code: 'FORMAT' | 'INVALID_ARGUMENT' = 'FORMAT') =>
    new DistilleryError(code, `${file}: ${key}: expected ${expected}, got ${describeJson(actual)}`, {
      argument: file,
      expected,
      actual: describeJson(actual),
    });
  if (!isPlainObject(value)) throw fail('the model.json', 'a JSON object', value);
  for (const key of Object.keys(value)) {
    if (!JSON_KEYS.includes(key)) throw fail(key, `no other keys than ${JSON_KEYS.join(', ')}`, 'an unknown key');
  }
  if (value.format !== MODEL_FORMAT) throw fail('format', JSON.stringify(MODEL_FORMAT), value.format);
  if (value.version !== MODEL_FORMAT_VERSION) {
    throw fail('version', `${MODEL_FORMAT_VERSION} (the model.json version this @distillery/vit reads)`, value.version);
  }
  if (!MODEL_ARCHITECTURES.includes(value.architecture as ModelArchitecture)) {
    throw fail('architecture', `one of ${MODEL_ARCHITECTURES.join(', ')}`, value.architecture);
  }
  if (!isPlainObject(value.config)) throw fail('config', 'a JSON object (the model config)', value.config);
  if (value.weights !== undefined && (typeof value.weights !== 'string' || value.weights === '')) {
    throw fail('weights', 'a file name (the safetensors next to the json)', value.weights);
  }
  if (
    value.classes !== undefined &&
    (!Array.isArray(value.classes) || value.classes.some((c) => typeof c !== 'string'))
  ) {
    throw fail('classes', 'an array of class names (strings)', value.classes);
  }
  if (value.metadata !== undefined && !isPlainObject(value.metadata))
    throw fail('metadata', 'a JSON object', value.metadata);
  return value as unknown as ModelJson;
}

function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  return describeValue(value);
}

/** Builds the (randomly initialised) model a model.json describes; errors name `file`. */
export function buildModel(json: ModelJson, file = 'model.json'): SavableModel {
  const config = json.config;
  try {
    let model: SavableModel;
    if (json.architecture === 'vit' || json.architecture === 'deit') {
      const distilled = json.architecture === 'deit';
      if (config.distilled !== undefined && config.distilled !== distilled) {
        throw new DistilleryError(
          'FORMAT',
          `config.distilled: expected ${distilled} for architecture '${json.architecture}', got ${String(config.distilled)}`,
        );
      }
      model = new VisionTransformer({ ...(config as unknown as VisionTransformerConfig), distilled });
    } else if (json.architecture === 'resnet-cifar') {
      model = new ResNetCifar(config as ResNetCifarConfig);
    } else {
      model = new ResNet({ ...(config as object), architecture: json.architecture as ResNetArchitecture });
    }
    if (json.classes !== undefined && json.classes.length !== model.config.numClasses) {
      const n = model.config.numClasses;
      model.dispose();
      throw new DistilleryError(
        'FORMAT',
        `classes: expected ${n} class names (config.numClasses), got ${json.classes.length}`,
      );
    }
    return model;
  } catch (error) {
    if (error instanceof DistilleryError) {
      throw new DistilleryError(error.code, `${file}: ${error.message}`, {
        argument: file,
        expected: error.expected,
        actual: error.actual,
      });
    }
    throw error;
  }
}

/** A model rebuilt by `loadModel`, ready for inference. */
export interface LoadedModel {
  model: SavableModel;
  architecture: ModelArchitecture;
  config: Record<string, unknown>;
  classes?: string[];
  metadata?: Record<string, unknown>;
  /** Logits [B, classes] of NHWC float32 images, in inference mode (a new tensor: the caller disposes it). */
  logits(images: tf.Tensor4D): tf.Tensor2D;
}

export interface LoadModelOptions {
  /** The fetch used for URLs (default: the global fetch). */
  fetch?: typeof fetch;
}

/** model.json and its weights already in memory (e.g. files a user picked in a browser). */
export interface ModelFiles {
  json: ModelJson | string;
  weights: Uint8Array | ArrayBuffer;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Rebuilds a model saved by `saveModel`, for inference, in Node or a browser:
 * - a path (Node): reads the json and the safetensors next to it;
 * - a URL (`http(s):`, `file:`, or any string in a browser): fetches the json, then the weights resolved against
 *   its URL;
 * - `{ json, weights }`: the two files' contents.
 * Imports no training code (use the `@distillery/vit/load` entry to load only this and the model classes). Bad
 * input (unknown architecture or version, a missing weights file, weights that do not fit the config) is a
 * DistilleryError naming the file.
 */
export async function loadModel(
  source: string | URL | ModelFiles,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const o = checkOptions<LoadModelOptions>(options, { fetch: true });
  let json: ModelJson;
  let jsonName: string;
  let weights: Uint8Array;
  let weightsName: string;
  if (isPlainObject(source) && !(source instanceof URL)) {
    const files = source as unknown as ModelFiles;
    jsonName = 'model.json';
    let raw: unknown = files.json;
    if (typeof raw === 'string') raw = parseJsonText(raw, jsonName);
    json = parseModelJson(raw, jsonName);
    weightsName = json.weights ?? 'model.safetensors';
    if (!(files.weights instanceof Uint8Array || files.weights instanceof ArrayBuffer)) {
      throw new DistilleryError(
        'INVALID_ARGUMENT',
        `source.weights: expected the bytes of ${weightsName} (Uint8Array or ArrayBuffer), got ${describeValue(files.weights)}`,
        { argument: 'source.weights' },
      );
    }
    weights = files.weights instanceof Uint8Array ? files.weights : new Uint8Array(files.weights);
  } else if (
    source instanceof URL ||
    (typeof source === 'string' && (!isNode || /^[a-z][a-z\d+.-]*:\/\//i.test(source)))
  ) {
    const url = new URL(String(source), typeof location !== 'undefined' ? location.href : undefined);
    if (url.protocol === 'file:' && isNode) return loadModel((await nodeModules()).fileURLToPath(url), options);
    const fetcher = o.fetch ?? globalThis.fetch;
    jsonName = url.href;
    json = parseModelJson(
      parseJsonText(new TextDecoder().decode(await fetchBytes(fetcher, url, 'source')), jsonName),
      jsonName,
    );
    const weightsUrl = new URL(json.weights ?? 'model.safetensors', url);
    weightsName = weightsUrl.href;
    weights = await fetchBytes(fetcher, weightsUrl, jsonName);
  } else if (typeof source === 'string') {
    const { fs, path } = await nodeModules();
    jsonName = source;
    json = parseModelJson(
      parseJsonText(new TextDecoder().decode(await readFile(fs, source, 'source')), jsonName),
      jsonName,
    );
    weightsName = path.join(path.dirname(source), json.weights ?? 'model.safetensors');
    weights = await readFile(fs, weightsName, jsonName);
  } else {
    throw new DistilleryError(
      'INVALID_ARGUMENT',
      `source: expected a model.json path or URL, or { json, weights }, got ${describeValue(source)}`,
      { argument: 'source' },
    );
  }
  const model = buildModel(json, jsonName);
  try {
    model.loadStateDict(safetensorsToStateDict(parseSafetensors(weights, weightsName)));
  } catch (error) {
    model.dispose();
    if (error instanceof DistilleryError && !error.message.startsWith(weightsName)) {
      throw new DistilleryError(error.code, `${weightsName}: does not fit ${jsonName} (${error.message})`, {
        argument: weightsName,
        expected: error.expected,
        actual: error.actual,
      });
    }
    throw error;
  }
  const out: LoadedModel = {
    model,
    architecture: json.architecture,
    config: json.config,
    logits: (images) => {
      // Every model returns { logits, … }; the rest (tokens, features) is freed here.
      const { logits, ...rest } = model.forward(images, { training: false }) as unknown as {
        logits: tf.Tensor2D;
      } & Record<string, unknown>;
      disposeAll(rest);
      return logits;
    },
  };
  if (json.classes) out.classes = json.classes;
  if (json.metadata) out.metadata = json.metadata;
  return out;
}

function disposeAll(value: unknown): void {
  if (value === null || value === undefined) return;
  if (value instanceof tf.Tensor) {
    value.dispose();
    return;
  }
  if (Array.isArray(value)) for (const v of value) disposeAll(v);
  else if (typeof value === 'object') for (const v of Object.values(value as object)) disposeAll(v);
}

function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DistilleryError('FORMAT', `${file}: expected JSON, got unparseable text (${(error as Error).message})`, {
      argument: file,
    });
  }
}

async function fetchBytes(fetcher: typeof fetch, url: URL, argument: string): Promise<Uint8Array> {
  if (typeof fetcher !== 'function') {
    throw new DistilleryError('INVALID_ARGUMENT', `options.fetch: expected a fetch function (none is global here)`, {
      argument: 'options.fetch',
    });
  }
  let response: Response;
  try {
    response = await fetcher(url.href);
  } catch (error) {
    throw new DistilleryError('IO', `${url.href}: could not fetch (${(error as Error).message}) [${argument}]`, {
      argument: url.href,
    });
  }
  if (!response.ok) {
    throw new DistilleryError(
      'IO',
      `${url.href}: could not fetch (HTTP ${response.status} ${response.statusText}) [${argument}]`,
      {
        argument: url.href,
      },
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}

type NodeFs = typeof import('node:fs/promises');

/** `node:fs/promises`, `node:path` and `node:url` through runtime specifiers, so browser bundlers leave them alone. */
async function nodeModules(): Promise<{
  fs: NodeFs;
  path: typeof import('node:path');
  fileURLToPath: (url: URL) => string;
}> {
  const load = (name: string) => import(/* webpackIgnore: true */ /* @vite-ignore */ ['node', name].join(':'));
  const [fs, path, url] = await Promise.all([load('fs/promises'), load('path'), load('url')]);
  return {
    fs: fs as NodeFs,
    path: (path.default ?? path) as typeof import('node:path'),
    fileURLToPath: url.fileURLToPath,
  };
}

async function readFile(fs: NodeFs, file: string, from: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new DistilleryError(
      'IO',
      `${file}: could not read (${reason})${from === 'source' ? '' : `, the weights of ${from}`}`,
      {
        argument: file,
      },
    );
  }
}
