import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistilleryError, measureTensorGrowth, type Rng, tf } from '@distillery/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill } from '../src/distill/distill';
import { DISTILL_LOSSES } from '../src/distill/loss-table';
import { type TeacherOutput, teacherAdapter } from '../src/distill/teacher';
import { AdamW } from '../src/optim/adamw';
import { SGD } from '../src/optim/sgd';
import { blobs, C, changed, resnetTeacher, snapshot, student, vitTeacher } from './distill-setup';

const data = blobs(24);
let teacher: ReturnType<typeof vitTeacher>;
beforeAll(() => {
  teacher = vitTeacher();
});
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'distill-test-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  teacher.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The tape depth when the teacher runs: 0 means outside tf.variableGrads (nothing of it is recorded). */
function tapeDepth(): number {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth;
}

const base = { train: data, epochs: 2, batchSize: 8, progress: 'none' as const, seed: 3 };

describe('distill(): every named loss', () => {
  for (const loss of DISTILL_LOSSES) {
    it(`${loss}: finite losses, the student changes, the teacher does not, no tensor growth`, async () => {
      const teacherBefore = await snapshot(teacher.trainableVariables());
      let result: Awaited<ReturnType<typeof distill>> | undefined;
      let studentChanged = false;
      const growth = await measureTensorGrowth(async () => {
        const s = student(1, { distilled: loss === 'deit-lt' });
        const before = await snapshot(s.trainableVariables());
        let optimizer: AdamW | undefined;
        result = await distill({
          ...base,
          teacher: loss === 'uskd' ? undefined : teacher,
          student: s,
          loss,
          optimizer: (params) => {
            optimizer = new AdamW(params, { lr: 5e-3 });
            return optimizer;
          },
        });
        studentChanged = changed(before, await snapshot(s.trainableVariables()));
        optimizer?.dispose();
        tf.dispose(result.auxiliary);
        s.dispose();
      }, 1);
      expect(growth.growth).toBe(0);
      expect(studentChanged).toBe(true);
      expect(result!.history).toHaveLength(2);
      for (const h of result!.history) expect(Number.isFinite(h.loss)).toBe(true);
      expect(changed(teacherBefore, await snapshot(teacher.trainableVariables()))).toBe(false);
      if (loss === 'uskd' || loss === 'trg') expect(result!.auxiliary).toHaveLength(2);
      else expect(result!.auxiliary).toHaveLength(0);
    });
  }

  it('kd lowers the training loss over a few epochs (SGD, a fixed teacher)', async () => {
    const s = student(2);
    const { history } = await distill({
      ...base,
      epochs: 6,
      teacher,
      student: s,
      loss: 'kd',
      optimizer: (p) => new SGD(p, { lr: 0.05, momentum: 0.9 }),
    });
    expect(history[5]!.loss).toBeLessThan(history[0]!.loss);
    s.dispose();
  });

  it('a loss function gets (student logits, teacher logits, labels) and is the whole loss', async () => {
    const s = student(1);
    const seen: number[][] = [];
    const { history } = await distill({
      ...base,
      epochs: 1,
      teacher,
      student: s,
      loss: (z, t, y) => {
        seen.push([z.shape[0], z.shape[1], t.shape[1], y.shape[0]]);
        return tf.mean(tf.square(tf.sub(z, t)));
      },
    });
    // the probe batch (2 examples) then 3 batches of 8
    expect(seen).toEqual([
      [2, C, C, 2],
      [8, C, C, 8],
      [8, C, C, 8],
      [8, C, C, 8],
    ]);
    expect(history[0]!.loss).toBeGreaterThan(0);
    s.dispose();
  });

  it('named defaults: kd is 0.1·CE + 0.9·KD(T 4), ceWeight/distillWeight override', async () => {
    const run = async (extra: object) => {
      const s = student(4);
      const { history } = await distill({
        ...base,
        epochs: 1,
        teacher,
        student: s,
        loss: 'kd',
        optimizer: (p) => new SGD(p, { lr: 0 }),
        ...extra,
      });
      s.dispose();
      return history[0]!.loss;
    };
    const defaults = await run({});
    const explicit = await run({ ceWeight: 0.1, distillWeight: 0.9, lossOptions: { temperature: 4 } });
    const other = await run({ ceWeight: 1, distillWeight: 0.9 });
    expect(explicit).toBeCloseTo(defaults, 6);
    expect(other).toBeGreaterThan(defaults);
  });
});

describe('distill(): teacher kinds', () => {
  const runWith = async (t: unknown) => {
    const s = student(5);
    const r = await distill({
      ...base,
      teacher: t as never,
      student: s,
      loss: 'nkd',
      optimizer: (p) => new SGD(p, { lr: 0.05 }),
    });
    s.dispose();
    return r;
  };

  it('a Distillery model, a LayersModel-like (predict), a GraphModel-like (execute) and a function give one result; none runs on the tape', async () => {
    const depths: number[] = [];
    const logits = (x: tf.Tensor4D) => {
      depths.push(tapeDepth());
      return teacher.forward(x).logits;
    };
    const layersLike = { predict: (x: tf.Tensor) => logits(x as tf.Tensor4D) };
    const graphLike = { execute: (x: tf.Tensor) => logits(x as tf.Tensor4D) };
    const model = await runWith(teacher);
    const fromFunction = await runWith(logits);
    const fromLayers = await runWith(layersLike);
    const fromGraph = await runWith(graphLike);
    expect(model.teacherKind).toBe('distillery');
    expect(fromFunction.teacherKind).toBe('function');
    expect(fromLayers.teacherKind).toBe('tfjs-layers');
    expect(fromGraph.teacherKind).toBe('tfjs-graph');
    const losses = (r: typeof model) => r.history.map((h) => h.loss);
    expect(losses(fromFunction)).toEqual(losses(model));
    expect(losses(fromLayers)).toEqual(losses(model));
    expect(losses(fromGraph)).toEqual(losses(model));
    // probe + 3 batches × 2 epochs, each time outside tf.variableGrads
    expect(depths).toHaveLength(3 * 7);
    expect(depths.every((d) => d === 0)).toBe(true);
  });

  it('teacherAdapter runs under noGrad: called inside tf.variableGrads, none of its ops joins the tape', () => {
    const v = tf.variable(tf.scalar(1));
    const images = tf.randomNormal([2, 8, 8, 1]) as tf.Tensor4D;
    const tape = () => (tf.engine() as unknown as { state: { activeTape: unknown[] } }).state.activeTape.length;
    let added = -1;
    const { value, grads } = tf.variableGrads(() => {
      const before = tape();
      const { logits } = teacherAdapter(teacher).run(images) as TeacherOutput;
      added = tape() - before;
      return tf.mul(v, tf.sum(logits)) as tf.Scalar;
    }, [v]);
    expect(added).toBe(0);
    tf.dispose([v, images, value, ...Object.values(grads)]);
  });

  it('the teacher runs in inference mode (training false) and a ResNet teacher keeps its BatchNorm statistics', async () => {
    const resnet = resnetTeacher();
    const modes: unknown[] = [];
    const spy = {
      forward: (x: tf.Tensor4D, o?: { training?: boolean }) => {
        modes.push(o?.training);
        return resnet.forward(x, o);
      },
      trainableVariables: () => resnet.trainableVariables(),
    };
    const buffers = await snapshot(resnet.buffers().variables);
    const weights = await snapshot(resnet.trainableVariables());
    await runWith(spy);
    expect(modes.every((m) => m === false)).toBe(true);
    expect(changed(buffers, await snapshot(resnet.buffers().variables))).toBe(false);
    expect(changed(weights, await snapshot(resnet.trainableVariables()))).toBe(false);
    resnet.dispose();
  });
});

describe('distill(): teacher-logit cache', () => {
  const costly = () => {
    let calls = 0;
    const fn = (x: tf.Tensor4D) => {
      calls++;
      return teacher.forward(x).logits;
    };
    return { fn, calls: () => calls };
  };
  const flip = (x: tf.Tensor4D, rng: Rng) => (rng.uniform() < 0.5 ? tf.reverse(x, 2) : tf.clone(x)) as tf.Tensor4D;

  it('in memory: the same losses as without it, the teacher runs only in the first epoch', async () => {
    const run = async (cacheTeacher: boolean) => {
      const t = costly();
      const s = student(6);
      const r = await distill({
        ...base,
        epochs: 3,
        teacher: t.fn,
        student: s,
        loss: 'kd',
        augment: flip,
        teacherInput: 'original',
        cacheTeacher,
        optimizer: (p) => new SGD(p, { lr: 0.05 }),
      });
      s.dispose();
      return { losses: r.history.map((h) => h.loss), calls: t.calls(), cache: r.cache };
    };
    const plain = await run(false);
    const cached = await run(true);
    expect(cached.losses).toEqual(plain.losses);
    expect(plain.calls).toBe(1 + 9);
    expect(cached.calls).toBe(1 + 3);
    expect(cached.cache).toEqual({ hits: 6, misses: 3, size: 24 });
  });

  it('on disk: a second run reads the file and never calls the teacher for training batches; another teacher is refused', async () => {
    const dir = tempDir();
    const run = async (t: (x: tf.Tensor4D) => tf.Tensor) => {
      const s = student(6);
      const r = await distill({
        ...base,
        teacher: t,
        student: s,
        loss: 'dkd',
        cacheTeacher: { dir },
        optimizer: (p) => new SGD(p, { lr: 0.05 }),
      });
      s.dispose();
      return r;
    };
    const first = costly();
    const a = await run(first.fn);
    const second = costly();
    const b = await run(second.fn);
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    // probe of the class count + probe of the cache rows; no training batch
    expect(second.calls()).toBe(2);
    expect(b.cache).toEqual({ hits: 6, misses: 0, size: 24 });
    const other = vitTeacher(99);
    await expect(run((x) => other.forward(x).logits)).rejects.toThrow(/cacheTeacher\.dir.*differ from the teacher/);
    other.dispose();
  });

  it('is refused for deit-lt and trg, without a teacher, and with augmentation the teacher would see', async () => {
    const s = student(1, { distilled: true });
    const opts = { ...base, teacher, student: s, cacheTeacher: true };
    await expect(distill({ ...opts, loss: 'deit-lt' })).rejects.toThrow(/cacheTeacher.*'deit-lt'.*augmented batch/);
    await expect(distill({ ...opts, loss: 'trg' })).rejects.toThrow(/cacheTeacher.*'trg'/);
    await expect(distill({ ...opts, loss: 'kd', augment: flip })).rejects.toThrow(/teacherInput: 'original'/);
    await expect(
      distill({ ...opts, loss: 'deit-lt', cacheTeacher: undefined, teacherInput: 'original' }),
    ).rejects.toThrow(/teacherInput.*'deit-lt'/);
    s.dispose();
  });
});

describe('distill(): bad input', () => {
  let s: ReturnType<typeof student>;
  beforeAll(() => {
    s = student(1);
  });
  afterAll(() => s.dispose());
  const err = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(DistilleryError);
      return (e as Error).message;
    }
    throw new Error('expected a DistilleryError');
  };

  it('a teacher with another class count: one error naming both counts, before any training', async () => {
    const wide = vitTeacher(3, 5);
    const before = await snapshot(s.trainableVariables());
    const message = await err(distill({ ...base, teacher: wide, student: s, loss: 'kd' }));
    expect(message).toBe(
      'options.teacher: expected logits over 3 classes (the classes of options.train), got 5 classes',
    );
    expect(changed(before, await snapshot(s.trainableVariables()))).toBe(false);
    wide.dispose();
    const fn = (x: tf.Tensor4D) => tf.zeros([x.shape[0], 10]);
    expect(await err(distill({ ...base, teacher: fn, student: s, loss: 'kd' }))).toMatch(
      /over 3 classes.*got 10 classes/,
    );
  });

  it('unknown loss name lists the valid ones; unknown loss option is rejected by the loss', async () => {
    const m = await err(distill({ ...base, teacher, student: s, loss: 'nkdd' as never }));
    expect(m).toMatch(/options\.loss/);
    for (const name of DISTILL_LOSSES) expect(m).toContain(name);
    expect(await err(distill({ ...base, teacher, student: s, loss: 'kd', lossOptions: { temprature: 2 } }))).toMatch(
      /temprature/,
    );
  });

  it('empty dataset, missing or extra teacher, a student of the wrong width, deit-lt without a dist head', async () => {
    const empty = { ...data, length: 0, labels: () => new Int32Array(0) };
    expect(await err(distill({ ...base, train: empty, teacher, student: s, loss: 'kd' }))).toMatch(
      /options\.train.*empty/,
    );
    expect(await err(distill({ ...base, student: s, loss: 'kd' }))).toMatch(/options\.teacher/);
    expect(await err(distill({ ...base, teacher, student: s, loss: 'uskd' }))).toMatch(/no teacher with 'uskd'/);
    const wrong = student(1, { numClasses: 4 });
    expect(await err(distill({ ...base, teacher, student: wrong, loss: 'kd' }))).toMatch(
      /options\.student.*3 classes.*got 4/,
    );
    wrong.dispose();
    expect(await err(distill({ ...base, teacher, student: s, loss: 'deit-lt' }))).toMatch(/distilled ViT/);
    expect(await err(distill({ ...base, teacher, student: s, loss: 'kd', warmupEpochs: 3 }))).toMatch(/warmupEpochs/);
    expect(
      await err(distill({ ...base, teacher, student: s, loss: 'kd', cacheTeacher: { dri: 'x' } as never })),
    ).toMatch(/dri/);
    expect(await err(distill({ ...base, teacher: s, student: s, loss: 'kd' }))).toMatch(/other than the student/);
    expect(await err(distill({ ...base, teacher: { foo: 1 } as never, student: s, loss: 'kd' }))).toMatch(
      /options\.teacher/,
    );
    expect(await err(distill({ ...base, teacher, student: s, loss: 'kd', epochz: 3 } as never))).toMatch(/epochz/);
  });
});
