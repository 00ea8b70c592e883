import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '@distillery/data';
import { splitByCount } from '@distillery/samplers';
import { DistilleryError, initBackend, invalid, readSafetensorsFile, tf } from '@distillery/tensor';
import {
  accuracy,
  confusionMatrix,
  groupAccuracy,
  perClassAccuracy,
  predictClassesAsync,
  topKAccuracy,
} from '@distillery/train';
import { loadModel } from '@distillery/vit';
import { UsageError } from '../args';
import { renderHtmlReport } from '../report/html-report';
import { writeFileAtomic } from '../run-recipe';
import { formatTable } from '../table';
import { DATA_FORMATS, type DataFormat, loadUserData } from './user-data';
import { createModel } from './user-models';

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** What `distillery distill/train` writes into the weights' metadata: enough to rebuild the model. */
interface SavedModel {
  model: { forward(x: tf.Tensor): { logits: tf.Tensor2D }; dispose(): void };
  architecture: string;
  classNames: string[];
  imageSize: number;
  channels: number;
}

/** Rebuilds a model from a weights file written by `distillery distill` / `train` (`weights/model.safetensors`). */
async function loadSaved(file: string): Promise<SavedModel> {
  if (file.endsWith('.json')) return loadJson(file);
  if (!file.endsWith('.safetensors')) {
    throw invalid('INVALID_ARGUMENT', '--model', 'weights/model.safetensors of a distillery distill/train run', file);
  }
  const { metadata } = await readSafetensorsFile(file);
  const architecture = metadata.architecture;
  if (!architecture || !metadata.numClasses || !metadata.imageSize || !metadata.channels) {
    throw invalid(
      'FORMAT',
      '--model',
      'weights written by distillery distill/train (architecture in the metadata)',
      file,
    );
  }
  const classNames = metadata.classNames ? (JSON.parse(metadata.classNames) as string[]) : [];
  const numClasses = Number(metadata.numClasses);
  const imageSize = Number(metadata.imageSize);
  const channels = Number(metadata.channels);
  const model = createModel(
    architecture,
    {
      numClasses,
      imageSize,
      channels,
      distilled: metadata.distilled === 'true',
      overrides: metadata.config ? (JSON.parse(metadata.config) as Record<string, unknown>) : undefined,
    },
    '--model',
  );
  await model.loadSafetensors(file);
  return {
    model: model as unknown as SavedModel['model'],
    architecture,
    classNames: classNames.length ? classNames : Array.from({ length: numClasses }, (_, i) => String(i)),
    imageSize,
    channels,
  };
}

/** A model.json written by saveModel of @distillery/vit (the run folder's model.json). */
async function loadJson(file: string): Promise<SavedModel> {
  const loaded = await loadModel(file);
  const meta = (loaded.metadata ?? {}) as { imageSize?: number; channels?: number };
  const config = loaded.config as { imageSize?: number; inChannels?: number; numClasses?: number };
  const imageSize = Number(meta.imageSize ?? config.imageSize);
  if (!Number.isInteger(imageSize) || imageSize < 1) {
    throw invalid(
      'FORMAT',
      '--model',
      'a model.json with the image size (config.imageSize or metadata.imageSize)',
      file,
    );
  }
  const numClasses = Number(config.numClasses ?? loaded.classes?.length);
  return {
    model: {
      forward: (x: tf.Tensor) => ({ logits: loaded.logits(x as tf.Tensor4D) }),
      dispose: () => (loaded.model as unknown as { dispose(): void }).dispose(),
    },
    architecture: loaded.architecture,
    classNames: loaded.classes ?? Array.from({ length: numClasses }, (_, i) => String(i)),
    imageSize,
    channels: Number(meta.channels ?? config.inChannels ?? 3),
  };
}

function parse(argv: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals: boolean) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: positionals });
  } catch (error) {
    const message = (error as Error).message;
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`unknown option ${/'([^']+)'/.exec(message)?.[1] ?? message}`);
    throw new UsageError(message.split('\n')[0]!);
  }
}

const EVAL_HELP = `distillery eval — accuracy of a trained model on labelled data

Usage: distillery eval --model RUN/model.json --data PATH [--data-format F] [--out DIR]

Writes metrics.json (top-1, top-5, per-class, head/mid/tail) and report.html (confusion matrix) into --out
(default: the run folder of --model, as eval/).`;

const PREDICT_HELP = `distillery predict — the top-k classes of images

Usage: distillery predict --model RUN/model.json [--top-k K] image.png [image.jpg ...]`;

/** `distillery eval` / `distillery predict`; resolves to the exit code (2 for bad input, one line). */
export async function evalPredictCommand(
  command: 'eval' | 'predict',
  argv: readonly string[],
  io: Io,
): Promise<number> {
  try {
    if (command === 'eval') {
      const { values, positionals } = parse(
        argv,
        {
          model: { type: 'string' },
          data: { type: 'string' },
          'data-format': { type: 'string' },
          out: { type: 'string' },
          backend: { type: 'string' },
          help: { type: 'boolean' },
        },
        false,
      );
      if (values.help) {
        io.out(EVAL_HELP);
        return 0;
      }
      if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      await evaluate(values as Record<string, string | undefined>, io);
    } else {
      const { values, positionals } = parse(
        argv,
        {
          model: { type: 'string' },
          'top-k': { type: 'string' },
          backend: { type: 'string' },
          help: { type: 'boolean' },
        },
        true,
      );
      if (values.help) {
        io.out(PREDICT_HELP);
        return 0;
      }
      await predict(values as Record<string, string | undefined>, positionals, io);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`distillery ${command}: ${error.message} (see 'distillery ${command} --help')`);
      return 2;
    }
    if (error instanceof DistilleryError) {
      io.err(`distillery ${command}: ${error.message.split('\n')[0]}`);
      return 2;
    }
    throw error;
  }
}

const BACKENDS = ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;

function backendOf(value: string | undefined): (typeof BACKENDS)[number] {
  if (value === undefined) return 'auto';
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new UsageError(`--backend: expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as (typeof BACKENDS)[number];
}

async function evaluate(v: Record<string, string | undefined>, io: Io): Promise<void> {
  if (!v.model) throw new UsageError('missing --model');
  if (!v.data) throw new UsageError('missing --data');
  const format = (v['data-format'] ?? 'auto') as DataFormat;
  if (!(DATA_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--data-format: expected one of ${DATA_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  await initBackend(backendOf(v.backend));
  const saved = await loadSaved(v.model);
  try {
    const data = await loadUserData(v.data, {
      format,
      split: 'test',
      size: [saved.imageSize, saved.imageSize],
      channels: saved.channels === 1 ? 1 : 3,
      argument: '--data',
    });
    if (data.classNames.length !== saved.classNames.length) {
      throw invalid(
        'INVALID_ARGUMENT',
        '--data',
        `${saved.classNames.length} classes (those of the model)`,
        `${data.classNames.length} classes`,
      );
    }
    const truth = data.labels();
    const numClasses = saved.classNames.length;
    const predicted = await predictClassesAsync(data, (x) => saved.model.forward(x).logits, { batchSize: 256 });
    const logits: number[][] = [];
    for (let start = 0; start < data.length; start += 256) {
      const idx = Array.from({ length: Math.min(256, data.length - start) }, (_, i) => start + i);
      const batch = data.batch(idx);
      const out = saved.model.forward(batch.images).logits;
      logits.push(...((await out.array()) as number[][]));
      tf.dispose([out, batch.images, batch.labels]);
    }
    const counts = data.classCounts();
    const groups = splitByCount(counts);
    const top1 = accuracy(truth, predicted);
    const top5 = topKAccuracy(logits, truth, Math.min(5, numClasses));
    const perClass = perClassAccuracy(truth, predicted, numClasses);
    const hmt = groupAccuracy(truth, predicted, { head: groups.head, mid: groups.mid, tail: groups.tail }, numClasses);
    const confusion = confusionMatrix(truth, predicted, numClasses);
    // the run folder: model.json sits in it, weights/model.safetensors one level down
    const model = path.resolve(v.model);
    const runDir = model.endsWith('.json') ? path.dirname(model) : path.dirname(path.dirname(model));
    const outDir = path.resolve(v.out ?? path.join(runDir, 'eval'));
    (await import('node:fs')).mkdirSync(outDir, { recursive: true });
    const metrics = {
      top1,
      top5,
      perClass: Object.fromEntries(saved.classNames.map((n, i) => [n, perClass[i]])),
      head: hmt.head,
      mid: hmt.mid,
      tail: hmt.tail,
      groups,
      images: data.length,
    };
    writeFileAtomic(path.join(outDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    const fmt = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(4));
    const table = {
      headers: ['model', 'top-1', 'top-5', 'head', 'mid', 'tail'],
      rows: [[saved.architecture, fmt(top1), fmt(top5), fmt(hmt.head), fmt(hmt.mid), fmt(hmt.tail)]],
    };
    writeFileAtomic(
      path.join(outDir, 'report.html'),
      renderHtmlReport({
        title: `eval ${saved.architecture} on ${v.data}`,
        description: `${data.length} images of ${numClasses} classes. Head / mid / tail: classes with > 100, 20–100, < 20 images here.`,
        config: { model: v.model, data: v.data },
        table,
        perClass: { counts, accuracy: { [saved.architecture]: perClass }, classNames: saved.classNames },
        confusion: [{ title: 'confusion matrix', matrix: confusion, labels: saved.classNames }],
      }),
    );
    io.out(formatTable(table.headers, table.rows));
    io.out(`report: ${path.join(outDir, 'report.html')}`);
  } finally {
    saved.model.dispose();
  }
}

async function predict(v: Record<string, string | undefined>, files: string[], io: Io): Promise<void> {
  if (!v.model) throw new UsageError('missing --model');
  if (files.length === 0) throw new UsageError('no image given (distillery predict --model FILE image.png ...)');
  const k = v['top-k'] === undefined ? 5 : Number(v['top-k']);
  if (!Number.isInteger(k) || k < 1)
    throw new UsageError(`--top-k: expected an integer >= 1, got ${JSON.stringify(v['top-k'])}`);
  await initBackend(backendOf(v.backend));
  const saved = await loadSaved(v.model);
  try {
    const s = saved.imageSize;
    const c = saved.channels === 1 ? 1 : 3;
    for (const file of files) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (error) {
        throw invalid('IO', file, 'a readable image file', (error as Error).message);
      }
      const img = await decodeImage(bytes, file, c);
      // nearest resize to the model's size, as the image-folder loader does
      const px = new Float32Array(s * s * c);
      for (let y = 0; y < s; y++) {
        const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / s));
        for (let x = 0; x < s; x++) {
          const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / s));
          for (let ch = 0; ch < c; ch++) px[(y * s + x) * c + ch] = img.data[(sy * img.width + sx) * c + ch]! / 255;
        }
      }
      const probs = tf.tidy(() => tf.softmax(saved.model.forward(tf.tensor4d(px, [1, s, s, c])).logits));
      const p = Array.from(await probs.data());
      probs.dispose();
      const top = p
        .map((q, i) => [q, i] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, Math.min(k, p.length));
      io.out(`${file}: ${top.map(([q, i]) => `${saved.classNames[i]} ${(100 * q).toFixed(1)}%`).join(', ')}`);
    }
  } finally {
    saved.model.dispose();
  }
}
