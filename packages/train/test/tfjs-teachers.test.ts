// Real tfjs teachers in distill(): a tfjs-layers LayersModel (tf.sequential) and a tfjs-converter GraphModel (a small
// hand-written graph-model JSON loaded through loadGraphModel(tf.io.fromMemory(...))), and async teacher functions.
// Both tfjs packages are built on the same tfjs-core instance as `tf` from @distillery/tensor.
import { measureTensorGrowth, tf } from '@distillery/tensor';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill } from '../src/distill/distill';
import type { LabelledData } from '../src/distill/run-setup';
import { SGD } from '../src/optim/sgd';
import { blobs, changed, snapshot, student } from './distill-setup';
import { graphModelArtifacts, layersTeacher } from './tfjs-setup';

/** The batches the teacher saw (the data's own images: no augmentation) and the teacher logits the loss got. */
function recording(data: LabelledData) {
  const images: Float32Array[] = [];
  const shapes: number[][] = [];
  const teacherLogits: Float32Array[] = [];
  const train: LabelledData = {
    ...data,
    batch(indices) {
      const b = data.batch(indices);
      images.push(Float32Array.from(b.images.dataSync()));
      shapes.push(b.images.shape);
      return b;
    },
  };
  const loss = (z: tf.Tensor2D, t: tf.Tensor2D) => {
    teacherLogits.push(Float32Array.from(t.dataSync()));
    return tf.mean(tf.square(tf.sub(z, t))) as tf.Scalar;
  };
  return { train, loss, images, shapes, teacherLogits };
}

function tapeDepth(): number {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth;
}

const data = blobs(24);
const base = { epochs: 2, batchSize: 8, progress: 'none' as const, seed: 3 };

describe('distill() with real tfjs teachers', () => {
  let layers: tfl.LayersModel;
  let graph: Awaited<ReturnType<typeof loadGraphModel>>;
  beforeAll(async () => {
    layers = layersTeacher();
    graph = await loadGraphModel(tf.io.fromMemory(graphModelArtifacts()));
  });
  afterAll(() => {
    layers.dispose();
    graph.dispose();
  });

  const cases = [
    { kind: 'tfjs-layers', model: () => layers, weights: () => layers.getWeights() },
    { kind: 'tfjs-graph', model: () => graph, weights: () => Object.values(graph.weights).flat() },
  ] as const;

  for (const c of cases) {
    it(`${c.kind}: the logits used are the model's own predict (inference mode), its weights never change, none of it on the tape, no tensor growth`, async () => {
      const teacher = c.model();
      expect(tf.memory().numTensors).toBeGreaterThan(0);
      const weightsBefore = await snapshot(c.weights() as tf.Variable[]);
      const depths: number[] = [];
      const predict = teacher.predict.bind(teacher) as (x: tf.Tensor) => tf.Tensor;
      // the real model, with its predict spied on: the depth of the gradient tape when it runs
      (teacher as { predict: unknown }).predict = (x: tf.Tensor, config?: unknown) => {
        depths.push(tapeDepth());
        return (predict as (x: tf.Tensor, c?: unknown) => tf.Tensor)(x, config);
      };
      try {
        const rec = recording(data);
        let kind: string | null = null;
        let studentChanged = false;
        const growth = await measureTensorGrowth(async () => {
          rec.images.length = 0;
          rec.shapes.length = 0;
          rec.teacherLogits.length = 0;
          depths.length = 0;
          const s = student(2);
          const before = await snapshot(s.trainableVariables());
          const result = await distill({
            ...base,
            train: rec.train,
            teacher,
            student: s,
            loss: rec.loss,
            optimizer: (p) => new SGD(p, { lr: 0.05 }),
          });
          kind = result.teacherKind;
          studentChanged = changed(before, await snapshot(s.trainableVariables()));
          s.dispose();
        }, 1);
        expect(growth.growth).toBe(0);
        expect(kind).toBe(c.kind);
        expect(studentChanged).toBe(true);
        // probe + 3 batches × 2 epochs: the teacher ran outside tf.variableGrads every time
        expect(depths).toEqual(new Array(7).fill(0));
        expect(rec.teacherLogits).toHaveLength(7);
        for (let i = 0; i < 7; i++) {
          const own = tf.tidy(() =>
            predict(tf.tensor4d(rec.images[i]!, rec.shapes[i] as [number, number, number, number])),
          );
          expect(Array.from(rec.teacherLogits[i]!)).toEqual(Array.from(own.dataSync()));
          own.dispose();
        }
        expect(changed(weightsBefore, await snapshot(c.weights() as tf.Variable[]))).toBe(false);
      } finally {
        (teacher as { predict: unknown }).predict = predict;
      }
    });
  }

  it('a GraphModel with a dynamic op (only executeAsync runs it) teaches through executeAsync: its own logits, no growth', async () => {
    const dynamic = await loadGraphModel(tf.io.fromMemory(graphModelArtifacts(5, true)));
    const probe = tf.ones([2, 8, 8, 1]);
    expect(() => dynamic.predict(probe)).toThrow(/executeAsync/);
    probe.dispose();
    const rec = recording(data);
    let kind: string | null = null;
    const growth = await measureTensorGrowth(async () => {
      rec.images.length = 0;
      rec.shapes.length = 0;
      rec.teacherLogits.length = 0;
      const s = student(2);
      kind = (
        await distill({
          ...base,
          train: rec.train,
          teacher: dynamic,
          student: s,
          loss: rec.loss,
          optimizer: (p) => new SGD(p, { lr: 0.05 }),
        })
      ).teacherKind;
      s.dispose();
    }, 1);
    expect(growth.growth).toBe(0);
    expect(kind).toBe('tfjs-graph');
    expect(rec.teacherLogits).toHaveLength(7);
    for (let i = 0; i < 7; i++) {
      const x = tf.tensor4d(rec.images[i]!, rec.shapes[i] as [number, number, number, number]);
      const own = (await dynamic.executeAsync(x)) as tf.Tensor;
      expect(Array.from(rec.teacherLogits[i]!)).toEqual(Array.from(own.dataSync()));
      tf.dispose([x, own]);
    }
    // and the same logits as the static graph (the dynamic branch adds 0)
    expect(Array.from(rec.teacherLogits[0]!)).toEqual(
      Array.from(
        tf
          .tidy(
            () =>
              graph.predict(
                tf.tensor4d(rec.images[0]!, rec.shapes[0] as [number, number, number, number]),
              ) as tf.Tensor,
          )
          .dataSync(),
      ),
    );
    dynamic.dispose();
  });

  it('named losses train from a LayersModel and a GraphModel teacher (kd, nkd)', async () => {
    for (const [loss, teacher] of [
      ['kd', layers],
      ['nkd', graph],
    ] as const) {
      const s = student(3);
      const { history } = await distill({
        ...base,
        train: data,
        teacher,
        student: s,
        loss,
        optimizer: (p) => new SGD(p, { lr: 0.05 }),
      });
      s.dispose();
      for (const h of history) expect(Number.isFinite(h.loss)).toBe(true);
    }
  });
});

describe('distill() with an async teacher function', () => {
  let layers: tfl.LayersModel;
  beforeAll(() => {
    layers = layersTeacher();
  });
  afterAll(() => layers.dispose());

  /** A "remote" teacher: reads the images, answers on a later task with plain numbers, as a server or worker would. */
  const remote = async (x: tf.Tensor4D) => {
    const pixels = await x.data();
    await new Promise((resolve) => setTimeout(resolve, 1));
    const logits = tf.tidy(() => layers.predict(tf.tensor4d(pixels, x.shape)) as tf.Tensor2D);
    const values = await logits.data();
    const shape = logits.shape;
    logits.dispose();
    return tf.tensor2d(values, shape);
  };

  const run = async (teacher: unknown, cacheTeacher = false) => {
    const s = student(4);
    const r = await distill({
      ...base,
      epochs: 3,
      train: data,
      teacher: teacher as never,
      student: s,
      loss: 'kd',
      cacheTeacher,
      optimizer: (p) => new SGD(p, { lr: 0.05 }),
    });
    s.dispose();
    return r;
  };

  it('an async function, and a plain function returning a Promise, give the losses of the synchronous teacher; no tensor growth', async () => {
    const sync = await run(layers);
    const fromAsync = await run(remote);
    const fromThen = await run((x: tf.Tensor4D) =>
      x.data().then((d) => tf.tidy(() => layers.predict(tf.tensor4d(d, x.shape)))),
    );
    // an async teacher that holds a tensor of its own across an await (runs outside tf.tidy, frees it itself)
    const holding = async (x: tf.Tensor4D) => {
      const copy = tf.add(x, 0); // new data (a clone would share x's)
      await new Promise((resolve) => setTimeout(resolve, 1));
      const logits = layers.predict(copy) as tf.Tensor2D;
      copy.dispose();
      return logits;
    };
    const fromHolding = await run(holding);
    const losses = (r: typeof sync) => r.history.map((h) => h.loss);
    expect(losses(fromHolding)).toEqual(losses(sync));
    expect(fromAsync.teacherKind).toBe('function');
    expect(losses(fromAsync)).toEqual(losses(sync));
    expect(losses(fromThen)).toEqual(losses(sync));
    for (const teacher of [remote, holding]) {
      const growth = await measureTensorGrowth(() => run(teacher), 1);
      expect(growth.growth).toBe(0);
    }
  });

  it('the cache works with it: same losses, the teacher runs only in the first epoch', async () => {
    let calls = 0;
    const counted = async (x: tf.Tensor4D) => {
      calls++;
      return remote(x);
    };
    const plain = await run(remote);
    const cached = await run(counted, true);
    expect(cached.history.map((h) => h.loss)).toEqual(plain.history.map((h) => h.loss));
    expect(calls).toBe(1 + 3);
    expect(cached.cache).toEqual({ hits: 6, misses: 3, size: 24 });
  });

  it('a rejected Promise stops the run with its error and leaves no tensor behind; a wrong shape is one clear error', async () => {
    let n = 0;
    const flaky = async (x: tf.Tensor4D) => {
      if (++n === 3) throw new Error('teacher server: 503');
      return remote(x);
    };
    const before = tf.memory().numTensors;
    const s = student(4);
    const count = s.trainableVariables().length;
    await expect(
      distill({
        ...base,
        train: data,
        teacher: flaky,
        student: s,
        loss: 'kd',
        optimizer: (p) => new SGD(p, { lr: 0 }),
      }),
    ).rejects.toThrow('teacher server: 503');
    s.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
    expect(count).toBeGreaterThan(0);
    await expect(run(async (x: tf.Tensor4D) => tf.zeros([x.shape[0], 2, 2]))).rejects.toThrow(
      /options\.teacher: expected logits of shape \[batch, classes\], got a tensor of shape \[2, 2, 2\]/,
    );
  });
});
