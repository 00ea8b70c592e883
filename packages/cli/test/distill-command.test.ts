// `distillery distill` and `distillery train` through main(): a generated image folder, a ResNet-32 teacher written to
// safetensors, a run folder with everything the recipes write, --resume, and bad input as one line with exit code 2.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '@distillery/tensor';
import { resnet18, resnet32, saveModel } from '@distillery/vit';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main';
import { imageFolder } from './image-folder';

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-distill-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

const images = path.join(work, 'images');
const teacherFile = path.join(work, 'teacher.safetensors');
const wideTeacher = path.join(work, 'teacher-5.safetensors');
const resnet18File = path.join(work, 'resnet18.safetensors');

beforeAll(async () => {
  imageFolder(images, [8, 6, 4]);
  for (const [file, numClasses] of [
    [teacherFile, 3],
    [wideTeacher, 5],
  ] as const) {
    const t = resnet32({ numClasses, inChannels: 3, seed: 1 });
    await t.saveSafetensors(file);
    t.dispose();
  }
  const r18 = resnet18({ numClasses: 3, seed: 2 });
  await r18.saveSafetensors(resnet18File);
  r18.dispose();
});

const tiny = '{"embedDim":16,"depth":1,"numHeads":2}';
const common = ['--data', images, '--epochs', '1', '--batch-size', '8', '--progress', 'none', '--backend', 'cpu'];

describe('distillery distill / train', () => {
  it('distill: a ResNet-32 teacher file → a small ViT student; the run folder has config, logs, checkpoint, weights, metrics, report', async () => {
    const out = path.join(work, 'run-kd');
    const a = capture();
    const argv = [
      'distill',
      '--teacher',
      teacherFile,
      '--teacher-arch',
      'resnet32',
      '--student',
      'deit-tiny-patch2-8',
      '--student-config',
      tiny,
      '--loss',
      'nkd',
      ...common,
      '--out',
      out,
    ];
    const code = await main(argv, a.io);
    expect(code, a.err.join('\n')).toBe(0);
    for (const f of [
      'model.json',
      'model.safetensors',
      'config.json',
      'log.jsonl',
      'logs/model.jsonl',
      'checkpoints/model.safetensors',
      'weights/model.safetensors',
      'metrics.json',
      'report.html',
    ]) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.top1).toBeGreaterThanOrEqual(0);
    expect(Object.keys(metrics.perClass)).toEqual(['class0', 'class1', 'class2']);
    expect(metrics.validationImages).toBe(3); // 10% of 8, 6, 4 rounded, at least one per class
    const report = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(report).toMatch(/confusion matrix/);
    expect(report).toMatch(/per-class accuracy/);
    expect(a.out.join('\n')).toMatch(/report: .*report\.html/);
    // --resume with more epochs continues after the checkpointed epoch
    const b = capture();
    expect(
      await main(
        [...argv.filter((x, i) => !(argv[i - 1] === '--epochs' || x === '--epochs')), '--epochs', '2', '--resume'],
        b.io,
      ),
    ).toBe(0);
    const epochs = readFileSync(path.join(out, 'logs/model.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).epoch);
    expect(epochs).toEqual([0, 1]);

    // eval and predict from the saved weights (architecture, classes and size in its metadata)
    const weights = path.join(out, 'model.json');
    const e = capture();
    expect(await main(['eval', '--model', weights, '--data', images, '--backend', 'cpu'], e.io), e.err.join('\n')).toBe(
      0,
    );
    const evalMetrics = JSON.parse(readFileSync(path.join(out, 'eval', 'metrics.json'), 'utf8'));
    expect(evalMetrics.images).toBe(18);
    expect(evalMetrics.top5).toBe(1); // 3 classes: the top-5 always holds the label
    expect(Object.keys(evalMetrics.perClass)).toEqual(['class0', 'class1', 'class2']);
    expect(readFileSync(path.join(out, 'eval', 'report.html'), 'utf8')).toMatch(/confusion matrix/);
    // the weights file with its metadata works too
    const w = capture();
    const weightsFile = path.join(out, 'weights', 'model.safetensors');
    expect(
      await main(
        ['eval', '--model', weightsFile, '--data', images, '--backend', 'cpu', '--out', path.join(work, 'eval-w')],
        w.io,
      ),
    ).toBe(0);
    expect(JSON.parse(readFileSync(path.join(work, 'eval-w', 'metrics.json'), 'utf8')).top1).toBe(evalMetrics.top1);
    const p = capture();
    const one = path.join(images, 'class0', '0.png');
    expect(
      await main(['predict', '--model', weights, '--top-k', '2', '--backend', 'cpu', one], p.io),
      p.err.join('\n'),
    ).toBe(0);
    expect(p.out).toHaveLength(1);
    expect(p.out[0]).toMatch(/0\.png: class\d \d+\.\d%, class\d \d+\.\d%$/);
    const q = capture();
    expect(await main(['predict', '--model', weights, '--backend', 'cpu', path.join(work, 'missing.png')], q.io)).toBe(
      2,
    );
    expect(q.err).toHaveLength(1);
  });

  it('distill: a torchvision ResNet-18 teacher (--teacher-arch resnet18) with --cache-teacher', async () => {
    const a = capture();
    const out = path.join(work, 'run-r18');
    const code = await main(
      [
        'distill',
        '--teacher',
        resnet18File,
        '--teacher-arch',
        'resnet18',
        '--student',
        'deit-tiny-patch2-8',
        '--student-config',
        tiny,
        '--loss',
        'kd',
        '--cache-teacher',
        ...common,
        '--out',
        out,
      ],
      a.io,
    );
    expect(code, a.err.join('\n')).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({
      teacherArch: 'resnet18',
      cacheTeacher: true,
    });
  });

  it('distill --teacher model.json: a Distillery model.json and a tfjs Layers model.json (no --teacher-arch)', async () => {
    const own = path.join(work, 'teacher-json');
    const t = resnet32({ numClasses: 3, inChannels: 3, seed: 1 });
    await saveModel(t, { dir: own });
    t.dispose();
    const layersDir = path.join(work, 'teacher-layers');
    mkdirSync(layersDir, { recursive: true });
    const lm = tfl.sequential({
      layers: [tfl.layers.flatten({ inputShape: [8, 8, 3] }), tfl.layers.dense({ units: 3 })],
    });
    await lm.save(
      tf.io.withSaveHandler(async ({ weightData, weightSpecs, ...rest }) => {
        writeFileSync(path.join(layersDir, 'weights.bin'), new Uint8Array(weightData as ArrayBuffer));
        writeFileSync(
          path.join(layersDir, 'model.json'),
          JSON.stringify({ ...rest, weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }] }),
        );
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    lm.dispose();
    for (const [json, format] of [
      [path.join(own, 'model.json'), 'distillery'],
      [path.join(layersDir, 'model.json'), 'tfjs-layers'],
    ] as const) {
      const a = capture();
      const out = path.join(work, `run-${format}`);
      const argv = ['distill', '--teacher', json, '--student', 'deit-tiny-patch2-8', '--student-config', tiny];
      const code = await main([...argv, '--loss', 'kd', ...common, '--out', out], a.io);
      expect(code, a.err.join('\n')).toBe(0);
      expect(a.out.join('\n')).toContain(`teacher: ${format} model from ${json}`);
      expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({
        teacher: json,
        teacherArch: format,
      });
      expect(existsSync(path.join(out, 'model.json'))).toBe(true);
    }
  });

  it('train: --loss ldam-drw --sampler class-balanced with --val-data', async () => {
    const val = imageFolder(path.join(work, 'val'), [2, 2, 2], 5);
    const a = capture();
    const code = await main(
      [
        'train',
        '--model',
        'deit-tiny-patch2-8',
        '--model-config',
        tiny,
        '--loss',
        'ldam-drw',
        '--sampler',
        'class-balanced',
        '--val-data',
        val,
        ...common,
        '--out',
        path.join(work, 'run-ldam'),
      ],
      a.io,
    );
    expect(code, a.err.join('\n')).toBe(0);
    const metrics = JSON.parse(readFileSync(path.join(work, 'run-ldam', 'metrics.json'), 'utf8'));
    expect(metrics.validationImages).toBe(6);
    const config = JSON.parse(readFileSync(path.join(work, 'run-ldam', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ command: 'train', loss: 'ldam-drw', sampler: 'class-balanced' });
  });

  it('--data IDX files (train-images-idx3-ubyte + train-labels-idx1-ubyte), stratified --val-split', async () => {
    const dir = path.join(work, 'idx');
    mkdirSync(dir, { recursive: true });
    const n = 12;
    const img = Buffer.alloc(16 + n * 64);
    img.writeUInt32BE(0x803, 0);
    img.writeUInt32BE(n, 4);
    img.writeUInt32BE(8, 8);
    img.writeUInt32BE(8, 12);
    const lab = Buffer.alloc(8 + n);
    lab.writeUInt32BE(0x801, 0);
    lab.writeUInt32BE(n, 4);
    for (let i = 0; i < n; i++) {
      lab[8 + i] = i % 3;
      for (let p = 0; p < 64; p++) img[16 + i * 64 + p] = (p + 7 * i) % 256;
    }
    writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), img);
    writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), lab);
    const a = capture();
    const out = path.join(work, 'run-idx');
    const code = await main(
      [
        'train',
        '--model',
        'deit-tiny-patch2-8',
        '--model-config',
        tiny,
        '--val-split',
        '0.25',
        ...common.slice(2),
        '--data',
        dir,
        '--out',
        out,
      ],
      a.io,
    );
    expect(code, a.err.join('\n')).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'))).toMatchObject({
      trainImages: 9,
      validationImages: 3,
    });
  });

  describe('bad input: one line on stderr, exit code 2, no stack trace', () => {
    const bad = async (argv: string[]) => {
      const a = capture();
      const code = await main(argv, a.io);
      const text = a.err.join('\n');
      expect(code, text).toBe(2);
      expect(text.split('\n')).toHaveLength(1);
      expect(text).not.toMatch(/\n\s+at /);
      return text;
    };
    const distillArgs = [
      'distill',
      '--teacher',
      teacherFile,
      '--teacher-arch',
      'resnet32',
      '--student',
      'deit-tiny-patch2-8',
      '--student-config',
      tiny,
    ];

    it('unknown flag, unknown --loss, bad numbers, missing flags', async () => {
      expect(await bad([...distillArgs, '--loss', 'kd', '--tempreture', '4', ...common])).toMatch(
        /^distillery distill: unknown option --tempreture \(see 'distillery distill --help'\)$/,
      );
      const loss = await bad([...distillArgs, '--loss', 'nkdd', ...common]);
      expect(loss).toMatch(/--loss: expected one of kd, dkd, nkd, clkd, deit-lt, trg, uskd, got "nkdd"/);
      expect(await bad(['train', '--model', 'resnet32', '--loss', 'ldam', ...common])).toMatch(/ldam-drw/);
      expect(await bad([...distillArgs, '--loss', 'kd', ...common, '--epochs', 'many'])).toMatch(
        /--epochs: expected an integer >= 1/,
      );
      expect(await bad(['distill', '--student', 'resnet32', '--loss', 'kd', ...common])).toMatch(/missing --teacher/);
      expect(await bad([...distillArgs, '--loss', 'kd', ...common, '--loss-options', '{"temprature":4}'])).toMatch(
        /temprature/,
      );
      expect(await bad(['train', '--model', 'vgg16', ...common])).toMatch(/--model: expected one of deit-/);
      expect(await bad(['train', '--model', 'deit-tiny-patch2-8', '--model-config', '{"dept":1}', ...common])).toMatch(
        /dept/,
      );
    });

    it('an empty class folder and an unreadable image name the file', async () => {
      const empty = imageFolder(path.join(work, 'with-empty'), [3, 3]);
      mkdirSync(path.join(empty, 'class2'));
      expect(await bad(['train', '--model', 'resnet32', ...common.slice(2), '--data', empty])).toMatch(
        /class2.*empty class folder/,
      );
      const broken = imageFolder(path.join(work, 'with-broken'), [3, 3]);
      writeFileSync(path.join(broken, 'class1', 'zz.png'), 'not a png');
      expect(await bad(['train', '--model', 'resnet32', ...common.slice(2), '--data', broken])).toMatch(/zz\.png/);
      expect(
        await bad(['train', '--model', 'resnet32', ...common.slice(2), '--data', path.join(work, 'nowhere')]),
      ).toMatch(/--data.*no such file/);
    });

    it('a teacher whose class count differs from the data names both counts', async () => {
      const text = await bad([
        'distill',
        '--teacher',
        wideTeacher,
        '--teacher-arch',
        'resnet32',
        '--student',
        'resnet32',
        '--loss',
        'kd',
        ...common,
        '--out',
        path.join(work, 'run-wide'),
      ]);
      expect(text).toBe(
        'distillery distill: options.teacher: expected logits over 3 classes (the classes of options.train), got 5 classes',
      );
    });

    it('--teacher model.json: with --teacher-arch, an unknown format, not JSON, a missing weights file', async () => {
      const dir = path.join(work, 'bad-json');
      mkdirSync(dir, { recursive: true });
      const student = ['--student', 'deit-tiny-patch2-8', '--student-config', tiny, '--loss', 'kd', ...common];
      const unknown = path.join(dir, 'saved.json');
      writeFileSync(unknown, JSON.stringify({ format: 'saved-model' }));
      expect(await bad(['distill', '--teacher', unknown, '--teacher-arch', 'resnet32', ...student])).toMatch(
        /--teacher-arch: only with a \.safetensors teacher/,
      );
      expect(await bad(['distill', '--teacher', unknown, ...student])).toMatch(
        /saved\.json: expected a model\.json of a Distillery model .* got format "saved-model"$/,
      );
      const text = path.join(dir, 'text.json');
      writeFileSync(text, 'not json');
      expect(await bad(['distill', '--teacher', text, ...student])).toMatch(
        /text\.json: expected a model\.json \(JSON\)/,
      );
      const noWeights = path.join(dir, 'graph.json');
      writeFileSync(
        noWeights,
        JSON.stringify({
          format: 'graph-model',
          modelTopology: {},
          weightsManifest: [{ paths: ['gone.bin'], weights: [] }],
        }),
      );
      expect(await bad(['distill', '--teacher', noWeights, ...student])).toMatch(
        /gone\.bin: could not read \(no such file\), a weights file of .*graph\.json$/,
      );
    });

    it('deit-lt refuses the teacher cache (its teacher sees the augmented batch)', async () => {
      expect(await bad([...distillArgs, '--loss', 'deit-lt', '--cache-teacher', ...common])).toMatch(
        /cacheTeacher.*deit-lt/,
      );
    });
  });
});
