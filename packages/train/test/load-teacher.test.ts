// loadTeacher(model.json): a tfjs Layers model, a tfjs graph model and a Distillery model, from a path, a file: URL or
// an http URL (through options.fetch, as in a browser); bad input is one DistilleryError naming the file.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DistilleryError, tf } from '@distillery/tensor';
import { expectDistilleryErrorAsync } from '@distillery/test-support';
import { saveModel } from '@distillery/vit';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill } from '../src/distill/distill';
import { loadTeacher } from '../src/distill/load-teacher';
import { SGD } from '../src/optim/sgd';
import { blobs, student, vitTeacher } from './distill-setup';
import { graphModelArtifacts, layersTeacher } from './tfjs-setup';

const root = mkdtempSync(join(tmpdir(), 'load-teacher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes model.json + one weights shard the way tfjs' own savers do. */
function writeTfjs(dir: string, artifacts: tf.io.ModelArtifacts, shard = 'group1-shard1of1.bin') {
  mkdirSync(dir, { recursive: true });
  const { weightData, weightSpecs, ...rest } = artifacts;
  writeFileSync(join(dir, shard), new Uint8Array(weightData as ArrayBuffer));
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({ ...rest, weightsManifest: [{ paths: [shard], weights: weightSpecs }] }),
  );
  return join(dir, 'model.json');
}

const images = () => tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
const values = (t: tf.Tensor) => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

let layersJson: string;
let graphJson: string;
let distilleryJson: string;
const expected: Record<string, number[]> = {};

beforeAll(async () => {
  const x = images();
  const layers = layersTeacher();
  let saved: tf.io.ModelArtifacts | undefined;
  await layers.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  layersJson = writeTfjs(join(root, 'layers'), { ...saved!, format: 'layers-model' });
  expected.layers = values(layers.predict(x) as tf.Tensor);
  layers.dispose();

  const artifacts = graphModelArtifacts();
  graphJson = writeTfjs(join(root, 'graph'), artifacts);
  const graph = await loadGraphModel(tf.io.fromMemory(artifacts));
  expected.graph = values(graph.predict(x) as tf.Tensor);
  graph.dispose();

  const vit = vitTeacher();
  distilleryJson = (await saveModel(vit, { dir: join(root, 'distillery'), classes: ['a', 'b', 'c'] })).files!.json;
  expected.distillery = values(vit.forward(x).logits);
  vit.dispose();
  x.dispose();
});

async function logitsOf(loaded: Awaited<ReturnType<typeof loadTeacher>>) {
  const x = images();
  const m = loaded.model as {
    predict?: (x: tf.Tensor) => tf.Tensor;
    forward?: (x: tf.Tensor4D) => { logits: tf.Tensor };
  };
  const out = m.forward ? m.forward(x).logits : m.predict!(x);
  x.dispose();
  return values(out);
}

describe('loadTeacher', () => {
  it("a tfjs Layers model (path), a tfjs graph model (file: URL), a Distillery model.json (path): the saved model's own logits", async () => {
    const layers = await loadTeacher(layersJson);
    expect(layers.format).toBe('tfjs-layers');
    expect(await logitsOf(layers)).toEqual(expected.layers);
    layers.dispose();
    const graph = await loadTeacher(pathToFileURL(graphJson));
    expect(graph.format).toBe('tfjs-graph');
    expect(await logitsOf(graph)).toEqual(expected.graph);
    graph.dispose();
    const own = await loadTeacher(distilleryJson);
    expect(own.format).toBe('distillery');
    expect(own.classes).toEqual(['a', 'b', 'c']);
    expect(await logitsOf(own)).toEqual(expected.distillery);
    own.dispose();
  });

  it('an http URL through fetch (the browser path): each format, weights resolved against the json URL', async () => {
    const served: Record<string, string> = {
      'http://teacher.test/l/model.json': layersJson,
      'http://teacher.test/l/group1-shard1of1.bin': join(root, 'layers', 'group1-shard1of1.bin'),
      'http://teacher.test/g/model.json': graphJson,
      'http://teacher.test/g/group1-shard1of1.bin': join(root, 'graph', 'group1-shard1of1.bin'),
      'http://teacher.test/d/model.json': distilleryJson,
      'http://teacher.test/d/model.safetensors': join(root, 'distillery', 'model.safetensors'),
    };
    const fetched: string[] = [];
    const fetch = (async (url: string) => {
      fetched.push(url);
      const file = served[url];
      return file
        ? new Response(readFileSync(file))
        : new Response('missing', { status: 404, statusText: 'Not Found' });
    }) as typeof globalThis.fetch;
    for (const [dir, key] of [
      ['l', 'layers'],
      ['g', 'graph'],
      ['d', 'distillery'],
    ] as const) {
      const loaded = await loadTeacher(`http://teacher.test/${dir}/model.json`, { fetch });
      expect(await logitsOf(loaded)).toEqual(expected[key]);
      loaded.dispose();
    }
    expect(fetched.filter((u) => u.endsWith('.bin') || u.endsWith('.safetensors'))).toHaveLength(3);
  });

  it('a loaded tfjs teacher distills a student', async () => {
    const loaded = await loadTeacher(layersJson);
    const s = student(2);
    const { history } = await distill({
      train: blobs(12),
      epochs: 1,
      batchSize: 6,
      progress: 'none',
      teacher: loaded.model,
      student: s,
      loss: 'kd',
      optimizer: (p) => new SGD(p, { lr: 0.05 }),
    });
    expect(Number.isFinite(history[0]!.loss)).toBe(true);
    s.dispose();
    loaded.dispose();
  });

  it('bad input: not a model.json, an unknown format, a missing weights file, a missing json: one clear error naming the file', async () => {
    const dir = join(root, 'bad');
    mkdirSync(dir, { recursive: true });
    const notJson = join(dir, 'notes.json');
    writeFileSync(notJson, 'hello');
    await expect(loadTeacher(notJson)).rejects.toThrow(
      `${notJson}: expected a model.json (JSON), got unparseable text`,
    );
    const unknown = join(dir, 'saved.json');
    writeFileSync(unknown, JSON.stringify({ format: 'saved-model', modelTopology: {} }));
    await expect(loadTeacher(unknown)).rejects.toThrow(
      `${unknown}: expected a model.json of a Distillery model (format 'distillery-model'), a tfjs Layers model ('layers-model') or a tfjs graph model ('graph-model'), got format "saved-model"`,
    );
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, JSON.stringify([1, 2]));
    await expect(loadTeacher(plain)).rejects.toThrow(`${plain}: expected a model.json (a JSON object), got`);
    const noWeights = writeTfjs(join(dir, 'graph'), graphModelArtifacts());
    unlinkSync(join(dir, 'graph', 'group1-shard1of1.bin'));
    await expect(loadTeacher(noWeights)).rejects.toThrow(
      `${join(dir, 'graph', 'group1-shard1of1.bin')}: could not read (no such file), a weights file of ${noWeights}`,
    );
    await expect(loadTeacher(join(dir, 'none.json'))).rejects.toThrow(
      `${join(dir, 'none.json')}: could not read (no such file)`,
    );
    const truncated = writeTfjs(join(dir, 'short'), graphModelArtifacts());
    writeFileSync(join(dir, 'short', 'group1-shard1of1.bin'), new Uint8Array(12));
    await expect(loadTeacher(truncated)).rejects.toThrow(`${truncated}: could not load as a tfjs graph model`);
    for (const bad of [
      () => loadTeacher(''),
      () => loadTeacher(42 as never),
      () => loadTeacher(layersJson, { fetc: fetch } as never),
    ]) {
      await expectDistilleryErrorAsync(bad, /^(source|options)/);
    }
    const e = await loadTeacher(unknown).catch((error) => error);
    expect(e).toBeInstanceOf(DistilleryError);
  });
});
