import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DistilleryError, tf } from '@distillery/tensor';
import { loadModel as loadModelFromEntry } from '@distillery/vit/load';
import { afterAll, describe, expect, it } from 'vitest';
import { ResNetCifar } from '../cnn/resnet-cifar';
import { resnet18 } from '../resnet/resnet';
import { VisionTransformer } from '../vit/vision-transformer';
import { loadModel, type SavableModel, saveModel } from './model-json';

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-model-json-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tinyViT = { imageSize: 8, patchSize: 2, embedDim: 8, depth: 2, numHeads: 2, numClasses: 3 };

const models: [string, () => SavableModel, number][] = [
  ['vit', () => new VisionTransformer({ ...tinyViT, seed: 1 }), 8],
  ['deit', () => new VisionTransformer({ ...tinyViT, distilled: true, seed: 2 }), 8],
  ['resnet18', () => resnet18({ numClasses: 3, seed: 3 }), 24],
  ['resnet-cifar', () => new ResNetCifar({ blocks: [1, 1, 1], widths: [4, 8, 16], numClasses: 3, seed: 4 }), 8],
];

async function logitsOf(model: SavableModel, x: tf.Tensor4D): Promise<Float32Array> {
  const out = model.forward(x) as unknown as Record<string, tf.Tensor | unknown>;
  const values = (await (out.logits as tf.Tensor).data()) as Float32Array;
  tf.dispose(Object.values(out).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
  return values;
}

describe.each(models)('saveModel / loadModel round trip: %s', (architecture, make, size) => {
  it('same logits after saving to a folder and loading model.json; classes and metadata kept', async () => {
    const model = make();
    const x = tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const dir = path.join(work, architecture);
    try {
      // BN buffers away from their init, so a lost running stat would change the logits.
      if (!(model instanceof VisionTransformer)) {
        const out = model.forward(x, { training: true }) as unknown as Record<string, tf.Tensor | tf.Tensor[]>;
        tf.dispose(Object.values(out).flat());
      }
      const expected = await logitsOf(model, x);
      const saved = await saveModel(model, { dir, classes: ['cat', 'dog', 'eel'], metadata: { mean: [0.5] } });
      expect(saved.files).toEqual({ json: path.join(dir, 'model.json'), weights: path.join(dir, 'model.safetensors') });
      const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      expect(json).toMatchObject({
        format: 'distillery-model',
        version: 1,
        architecture,
        weights: 'model.safetensors',
      });
      // Buffer.equals: vitest's deep equality walks a 45 MB array element by element.
      expect(readFileSync(path.join(dir, 'model.safetensors')).equals(saved.weights)).toBe(true);

      const before = tf.memory().numTensors;
      const loaded = await loadModel(path.join(dir, 'model.json'));
      expect(loaded.architecture).toBe(architecture);
      expect(loaded.classes).toEqual(['cat', 'dog', 'eel']);
      expect(loaded.metadata).toEqual({ mean: [0.5] });
      const afterLoad = tf.memory().numTensors;
      const logits = loaded.logits(x);
      expect(tf.memory().numTensors).toBe(afterLoad + 1);
      expect(Array.from(await logits.data())).toEqual(Array.from(expected));
      logits.dispose();
      loaded.model.dispose();
      expect(tf.memory().numTensors).toBe(before);

      // The same bytes, in memory (a browser's picked files), and through the load entry.
      const fromBytes = await loadModelFromEntry({
        json: JSON.stringify(saved.json),
        weights: saved.weights.slice().buffer,
      });
      expect(Array.from(await logitsOf(fromBytes.model, x))).toEqual(Array.from(expected));
      fromBytes.model.dispose();
    } finally {
      model.dispose();
      x.dispose();
    }
  }, 120_000);
});

describe('loadModel from URLs (browser path) and bad model.json files', () => {
  const dir = path.join(work, 'vit-url');
  const jsonPath = path.join(dir, 'model.json');
  const files = new Map<string, Uint8Array>();

  const fakeFetch = (async (url: string) => {
    const body = files.get(url);
    if (!body) return new Response('not found', { status: 404, statusText: 'Not Found' });
    return new Response(body.slice().buffer as ArrayBuffer);
  }) as typeof fetch;

  it('fetches the json, then the weights next to it; file: URLs read from disk in Node', async () => {
    const model = new VisionTransformer({ ...tinyViT, seed: 5 });
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    try {
      const saved = await saveModel(model, { dir });
      files.set('https://models.example/runs/a/model.json', new TextEncoder().encode(JSON.stringify(saved.json)));
      files.set('https://models.example/runs/a/model.safetensors', saved.weights);
      const expected = await logitsOf(model, x);
      const loaded = await loadModel('https://models.example/runs/a/model.json', { fetch: fakeFetch });
      expect(Array.from(await logitsOf(loaded.model, x))).toEqual(Array.from(expected));
      loaded.model.dispose();
      const viaFileUrl = await loadModel(pathToFileURL(jsonPath));
      expect(Array.from(await logitsOf(viaFileUrl.model, x))).toEqual(Array.from(expected));
      viaFileUrl.model.dispose();
      files.delete('https://models.example/runs/a/model.safetensors');
      await expect(loadModel('https://models.example/runs/a/model.json', { fetch: fakeFetch })).rejects.toThrow(
        /^https:\/\/models\.example\/runs\/a\/model\.safetensors: could not fetch \(HTTP 404 Not Found\)/,
      );
    } finally {
      model.dispose();
      x.dispose();
    }
  });

  const badJson = async (name: string, edit: (json: Record<string, unknown>) => unknown): Promise<string> => {
    const good = JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>;
    const file = path.join(dir, `${name}.json`);
    const edited = edit(good);
    writeFileSync(file, typeof edited === 'string' ? edited : JSON.stringify(edited));
    const error = await loadModel(file).catch((e: unknown) => e);
    expect(error, name).toBeInstanceOf(DistilleryError);
    return (error as Error).message;
  };

  it('names the file and the field: architecture, version, format, unknown key, bad JSON, classes', async () => {
    const file = (name: string) => path.join(dir, `${name}.json`);
    expect(await badJson('arch', (j) => ({ ...j, architecture: 'vgg16' }))).toBe(
      `${file('arch')}: architecture: expected one of vit, deit, resnet18, resnet34, resnet50, resnet-cifar, got "vgg16"`,
    );
    expect(await badJson('version', (j) => ({ ...j, version: 2 }))).toMatch(
      new RegExp(`^${file('version')}: version: expected 1 .*, got 2$`),
    );
    expect(await badJson('format', (j) => ({ ...j, format: 'keras' }))).toMatch(
      /format.json: format: expected "distillery-model"/,
    );
    expect(await badJson('key', (j) => ({ ...j, optimizer: {} }))).toMatch(
      /key.json: optimizer: expected no other keys/,
    );
    expect(await badJson('text', () => '{ not json')).toMatch(/text.json: expected JSON, got unparseable text/);
    expect(await badJson('classes', (j) => ({ ...j, classes: ['a'] }))).toMatch(
      /classes.json: classes: expected 3 class names \(config.numClasses\), got 1/,
    );
    expect(await badJson('config', (j) => ({ ...j, config: { ...(j.config as object), depth: -1 } }))).toMatch(
      /config.json: config.depth: expected/,
    );
  });

  it('a missing weights file, and weights that do not fit the config, name the weights file and the json', async () => {
    const missing = await badJson('missing', (j) => ({ ...j, weights: 'gone.safetensors' }));
    expect(missing).toBe(
      `${path.join(dir, 'gone.safetensors')}: could not read (no such file), the weights of ${path.join(dir, 'missing.json')}`,
    );
    const misfit = await badJson('misfit', (j) => ({ ...j, config: { ...(j.config as object), numClasses: 4 } }));
    expect(misfit).toMatch(
      new RegExp(
        `^${path.join(dir, 'model.safetensors')}: does not fit ${path.join(dir, 'misfit.json')} \\(state: 2 tensor\\(s\\) do not fit.*\\n.*head.weight: model \\[4, 8\\], checkpoint \\[3, 8\\]`,
      ),
    );
    await expect(loadModel(path.join(dir, 'nothing-here.json'))).rejects.toThrow(
      /nothing-here.json: could not read \(no such file\)$/,
    );
    await expect(loadModel(42 as never)).rejects.toThrow(/^source: expected a model.json path or URL/);
    await expect(loadModel(jsonPath, { fetcher: fetch } as never)).rejects.toThrow(/fetcher: unknown option/);
  });

  it('saveModel rejects bad options', async () => {
    const model = new ResNetCifar({ blocks: [1, 1, 1], widths: [4, 8, 16], numClasses: 2 });
    try {
      await expect(saveModel(model, { classes: ['a'] })).rejects.toThrow(/options.classes: expected 2 class names/);
      await expect(saveModel(model, { classes: [1, 2] as never })).rejects.toThrow(
        /options.classes: expected an array/,
      );
      await expect(saveModel(model, { folder: 'x' } as never)).rejects.toThrow(/folder: unknown option/);
      await expect(saveModel({} as never)).rejects.toThrow(
        /^model: expected a VisionTransformer, ResNet or ResNetCifar/,
      );
    } finally {
      model.dispose();
    }
  });
});
