import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type InMemoryDataset, randomCrop, randomHorizontalFlip } from '@distillery/data';
import { splitByCount } from '@distillery/samplers';
import {
  type BackendPreference,
  checkEnum,
  DistilleryError,
  initBackend,
  invalid,
  type Rng,
  type tf,
} from '@distillery/tensor';
import {
  AdamW,
  accuracy,
  confusionMatrix,
  DISTILL_LOSSES,
  type DistillLossName,
  distill,
  type EpochRecord,
  groupAccuracy,
  loadTeacher,
  perClassAccuracy,
  predictClassesAsync,
  SAMPLERS,
  type SamplerName,
  TRAIN_LOSSES,
  type TrainLossName,
  timmNoWeightDecay,
  train,
  warmupCosineLR,
} from '@distillery/train';
import { type SavableModel, saveModel } from '@distillery/vit';
import { UsageError } from '../args';
import { renderHtmlReport } from '../report/html-report';
import { writeFileAtomic } from '../run-recipe';
import { formatTable } from '../table';
import { DATA_FORMATS, type DataFormat, loadUserData, stratifiedFractionSplit } from './user-data';
import { ARCHS, createModel, loadTeacherFile } from './user-models';

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

type FlagDef = { type: 'string' | 'boolean'; description: string; value?: string };

const COMMON_FLAGS: Record<string, FlagDef> = {
  data: {
    type: 'string',
    value: 'PATH',
    description: 'image folder (one sub-folder per class), CIFAR binary files, or IDX files',
  },
  'data-format': { type: 'string', value: 'F', description: `${DATA_FORMATS.join(' | ')} (default auto)` },
  'val-data': {
    type: 'string',
    value: 'PATH',
    description: 'validation data (same formats; CIFAR/IDX: their test files)',
  },
  'val-split': {
    type: 'string',
    value: 'FRACTION',
    description: 'stratified validation fraction of --data (default 0.1 without --val-data)',
  },
  epochs: { type: 'string', value: 'N', description: 'training epochs (default 30)' },
  'batch-size': { type: 'string', value: 'N', description: 'batch size (default 64)' },
  lr: {
    type: 'string',
    value: 'LR',
    description: 'AdamW peak learning rate (default 5e-4·batch/512, DeiT), cosine schedule with warm-up',
  },
  'weight-decay': { type: 'string', value: 'WD', description: 'AdamW weight decay (default 0.05)' },
  sampler: { type: 'string', value: 'NAME', description: `${SAMPLERS.join(' | ')} (default instance)` },
  augment: {
    type: 'string',
    value: 'A',
    description: 'crop-flip (random crop, padding size/8, and flip; default) | none',
  },
  'image-size': { type: 'string', value: 'PX', description: "resize image folders to PX×PX (default: the model's)" },
  channels: { type: 'string', value: '1|3', description: 'image channels for image folders (default 3)' },
  'loss-options': {
    type: 'string',
    value: 'JSON',
    description: 'options of the loss, e.g. \'{"temperature":4}\' (checked by the loss)',
  },
  seed: { type: 'string', value: 'S', description: 'random seed (default 0)' },
  out: { type: 'string', value: 'DIR', description: 'run folder (default runs/<model>-<loss>)' },
  resume: { type: 'boolean', description: "continue from the run folder's checkpoint" },
  progress: { type: 'string', value: 'MODE', description: 'auto | bar | lines | none (default auto)' },
  backend: { type: 'string', value: 'NAME', description: 'auto | wasm | cpu | webgpu | tensorflow (default auto)' },
  help: { type: 'boolean', description: 'this help' },
};

const DISTILL_FLAGS: Record<string, FlagDef> = {
  teacher: {
    type: 'string',
    value: 'FILE',
    description:
      'the teacher: weights (.safetensors, timm/torchvision names, with --teacher-arch) or a model.json (Distillery, tfjs Layers or tfjs graph model)',
  },
  'teacher-arch': { type: 'string', value: 'ARCH', description: `teacher architecture: ${ARCHS.join(', ')}` },
  student: { type: 'string', value: 'ARCH', description: 'student architecture (same choices)' },
  loss: { type: 'string', value: 'NAME', description: `${DISTILL_LOSSES.join(' | ')} (official defaults)` },
  'student-config': {
    type: 'string',
    value: 'JSON',
    description: "overrides of the student architecture's config, e.g. '{\"depth\":6}' (checked by the model)",
  },
  'cache-teacher': {
    type: 'boolean',
    description: 'cache the teacher logits in memory (the teacher then sees un-augmented images)',
  },
  'cache-dir': {
    type: 'string',
    value: 'DIR',
    description: 'cache the teacher logits on disk in DIR (reused by later runs)',
  },
  ...COMMON_FLAGS,
};

const TRAIN_FLAGS: Record<string, FlagDef> = {
  model: { type: 'string', value: 'ARCH', description: `architecture: ${ARCHS.join(', ')}` },
  loss: { type: 'string', value: 'NAME', description: `${TRAIN_LOSSES.join(' | ')} (default ce)` },
  'model-config': {
    type: 'string',
    value: 'JSON',
    description: "overrides of the architecture's config, e.g. '{\"depth\":6}' (checked by the model)",
  },
  ...COMMON_FLAGS,
};

function help(command: 'distill' | 'train', flags: Record<string, FlagDef>): string {
  const head =
    command === 'distill'
      ? 'distillery distill — train a student from a teacher on your data\n\nUsage: distillery distill --teacher FILE [--teacher-arch ARCH] --student ARCH --data PATH --loss NAME [options]'
      : 'distillery train — train a model on your data (long-tail losses and samplers, no teacher)\n\nUsage: distillery train --model ARCH --data PATH [--loss NAME] [--sampler NAME] [options]';
  const rows = Object.entries(flags).map(
    ([k, f]) => `  --${k}${f.value ? ` ${f.value}` : ''}`.padEnd(30) + f.description,
  );
  return `${head}\n\nOptions:\n${rows.join('\n')}`;
}

/** util.parseArgs, strict: an unknown flag or a missing value is one UsageError line. */
function parse(argv: readonly string[], flags: Record<string, FlagDef>) {
  try {
    return parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(flags).map(([k, f]) => [k, { type: f.type }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unknown option ${flag}`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    }
    throw new UsageError(message.split('\n')[0]!);
  }
}

function number(
  value: unknown,
  flag: string,
  { integer = false, min = -Infinity, max = Infinity } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    !Number.isFinite(n) ||
    (integer && !Number.isInteger(n)) ||
    n < min ||
    n > max
  ) {
    const what = `${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}`;
    throw new UsageError(`--${flag}: expected ${what}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function required(values: Record<string, unknown>, flag: string): string {
  const v = values[flag];
  if (typeof v !== 'string' || v === '') throw new UsageError(`missing --${flag}`);
  return v;
}

function choice<T extends string>(value: unknown, flag: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new UsageError(`--${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** `distillery distill …` / `distillery train …`: resolves to the exit code (2 for bad input, one line, no stack). */
export async function trainingCommand(command: 'distill' | 'train', argv: readonly string[], io: Io): Promise<number> {
  const flags = command === 'distill' ? DISTILL_FLAGS : TRAIN_FLAGS;
  try {
    const values = parse(argv, flags);
    if (values.help) {
      io.out(help(command, flags));
      return 0;
    }
    await runTraining(command, values, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`distillery ${command}: ${error.message} (see 'distillery ${command} --help')`);
      return 2;
    }
    if (error instanceof DistilleryError) {
      // Bad input (data, models, loss, class counts) is exit 2; a run that diverges (non-finite loss) is 1.
      io.err(`distillery ${command}: ${error.message.split('\n')[0]}`);
      return error.code === 'NON_FINITE' ? 1 : 2;
    }
    throw error;
  }
}

async function runTraining(command: 'distill' | 'train', v: Record<string, string | boolean | undefined>, io: Io) {
  // flags first: every usage error before anything is loaded
  const isDistill = command === 'distill';
  const loss = isDistill
    ? choice(v.loss, 'loss', DISTILL_LOSSES, 'kd' as DistillLossName)
    : choice(v.loss, 'loss', TRAIN_LOSSES, 'ce' as TrainLossName);
  if (isDistill && v.loss === undefined) throw new UsageError(`missing --loss; one of ${DISTILL_LOSSES.join(', ')}`);
  const arch = required(v, isDistill ? 'student' : 'model');
  const dataPath = required(v, 'data');
  const teacherFile = isDistill && loss !== 'uskd' ? required(v, 'teacher') : undefined;
  // a model.json (Distillery, tfjs Layers or tfjs graph model) names its own architecture; safetensors need --teacher-arch
  const teacherJson = teacherFile !== undefined && /\.json$/i.test(teacherFile);
  if (teacherJson && v['teacher-arch'] !== undefined) {
    throw new UsageError('--teacher-arch: only with a .safetensors teacher (a model.json names its own architecture)');
  }
  const teacherArch = teacherFile && !teacherJson ? required(v, 'teacher-arch') : undefined;
  if (isDistill && loss === 'uskd' && v.teacher !== undefined) {
    throw new UsageError("--teacher: 'uskd' is self-distillation and takes no teacher");
  }
  const format = choice(v['data-format'], 'data-format', DATA_FORMATS, 'auto' as DataFormat);
  const epochs = number(v.epochs, 'epochs', { integer: true, min: 1 }) ?? 30;
  const batchSize = number(v['batch-size'], 'batch-size', { integer: true, min: 1 }) ?? 64;
  const seed = number(v.seed, 'seed', { integer: true }) ?? 0;
  const channels = number(v.channels, 'channels', { integer: true, min: 1, max: 3 }) ?? 3;
  if (channels !== 1 && channels !== 3) throw new UsageError(`--channels: expected 1 or 3, got "${channels}"`);
  const imageSizeFlag = number(v['image-size'], 'image-size', { integer: true, min: 1 });
  const valSplit = number(v['val-split'], 'val-split', { min: 0, max: 0.9 });
  if (valSplit !== undefined && v['val-data'] !== undefined)
    throw new UsageError('--val-split and --val-data: give one of them');
  const lrFlag = number(v.lr, 'lr', { min: 0 });
  const weightDecay = number(v['weight-decay'], 'weight-decay', { min: 0 }) ?? 0.05;
  const sampler = choice(v.sampler, 'sampler', SAMPLERS, 'instance' as SamplerName);
  const augmentName = choice(v.augment, 'augment', ['crop-flip', 'none'] as const, 'crop-flip');
  const progress = choice(v.progress, 'progress', ['auto', 'bar', 'lines', 'none'] as const, 'auto');
  const backendName = choice(v.backend, 'backend', ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const, 'auto');
  const lossOptions = jsonObject(v['loss-options'], 'loss-options');
  const modelConfig = jsonObject(
    v[isDistill ? 'student-config' : 'model-config'],
    isDistill ? 'student-config' : 'model-config',
  );
  const cacheDir = typeof v['cache-dir'] === 'string' ? v['cache-dir'] : undefined;
  const cacheTeacher = cacheDir ? { dir: path.resolve(cacheDir) } : v['cache-teacher'] ? true : undefined;
  const outDir = path.resolve(typeof v.out === 'string' ? v.out : path.join('runs', `${arch}-${loss}`));

  const backend = await initBackend(
    checkEnum(backendName, '--backend', ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as BackendPreference[]),
  );
  const modelSize = imageSizeFlag ?? presetSize(arch);
  const size: [number, number] | undefined = modelSize ? [modelSize, modelSize] : undefined;
  io.out(`distillery ${command}: loading ${dataPath}`);
  const all = await loadUserData(dataPath, { format, split: 'train', size, channels, argument: '--data' });
  let trainSet: InMemoryDataset = all;
  let validation: InMemoryDataset;
  if (typeof v['val-data'] === 'string') {
    validation = await loadUserData(v['val-data'], { format, split: 'test', size, channels, argument: '--val-data' });
    if (validation.classNames.length !== all.classNames.length) {
      throw invalid(
        'INVALID_ARGUMENT',
        '--val-data',
        `${all.classNames.length} classes (as --data)`,
        `${validation.classNames.length} classes`,
      );
    }
  } else {
    ({ train: trainSet, validation } = stratifiedFractionSplit(all, valSplit ?? 0.1, seed));
  }
  const [h, , c] = trainSet.imageShape;
  const numClasses = trainSet.classNames.length;
  io.out(
    `  ${trainSet.length} training and ${validation.length} validation images, ${numClasses} classes, ${h}×${h}×${c}; backend ${backend}`,
  );

  const model = createModel(
    arch,
    { numClasses, channels: c, imageSize: h, distilled: loss === 'deit-lt', seed, overrides: modelConfig },
    isDistill ? '--student' : '--model',
  );
  const loadedTeacher = teacherJson ? await loadTeacher(path.resolve(teacherFile!)) : undefined;
  if (loadedTeacher) io.out(`  teacher: ${loadedTeacher.format} model from ${teacherFile}`);
  const teacher = loadedTeacher
    ? { model: loadedTeacher.model, dispose: () => loadedTeacher.dispose() }
    : teacherFile
      ? await loadTeacherFile(teacherFile, teacherArch!, { channels: c, imageSize: h, seed })
      : undefined;

  for (const dir of [
    outDir,
    path.join(outDir, 'checkpoints'),
    path.join(outDir, 'logs'),
    path.join(outDir, 'weights'),
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  const checkpoint = path.join(outDir, 'checkpoints', 'model.safetensors');
  if (v.resume && !existsSync(checkpoint))
    io.out(`--resume: no checkpoint in ${checkpoint} yet; starting from the beginning`);
  const config = {
    command,
    model: arch,
    teacher: teacherFile ?? null,
    teacherArch: teacherArch ?? loadedTeacher?.format ?? null,
    loss,
    lossOptions: lossOptions ?? null,
    modelConfig: modelConfig ?? null,
    data: dataPath,
    valData: v['val-data'] ?? null,
    valSplit: typeof v['val-data'] === 'string' ? null : (valSplit ?? 0.1),
    epochs,
    batchSize,
    sampler,
    augment: augmentName,
    cacheTeacher: cacheDir ?? Boolean(cacheTeacher),
    seed,
    backend,
    startedAt: new Date().toISOString(),
  };
  writeFileAtomic(path.join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const eventLog = path.join(outDir, 'log.jsonl');
  const log = (event: Record<string, unknown>) =>
    appendFileSync(eventLog, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  log({ event: 'start', ...config });

  const pad = Math.max(1, Math.round(h / 8));
  const augment =
    augmentName === 'none'
      ? undefined
      : (x: tf.Tensor4D, rng: Rng) => randomHorizontalFlip(randomCrop(x, rng, { padding: pad }), rng);
  const lr = lrFlag ?? (5e-4 * batchSize) / 512;
  const optimizer = (params: tf.Variable[]) => new AdamW(params, { lr, weightDecay, noWeightDecay: timmNoWeightDecay });
  const schedule = warmupCosineLR(lr, {
    totalSteps: epochs,
    warmupSteps: Math.min(5, Math.floor(epochs / 10)),
    warmupLrInit: 1e-6,
    minLr: Math.min(1e-5, lr),
  });
  const run = {
    train: trainSet,
    validation,
    epochs,
    batchSize: Math.min(batchSize, trainSet.length),
    optimizer,
    schedule,
    augment,
    sampler,
    seed,
    lossOptions,
    checkpoint,
    resume: Boolean(v.resume),
    logFile: path.join(outDir, 'logs', 'model.jsonl'),
    progress,
  };
  let history: EpochRecord[];
  try {
    if (isDistill) {
      ({ history } = await distill({
        ...run,
        teacher: (teacher && 'model' in teacher ? teacher.model : teacher) as never,
        student: model as never,
        loss: loss as DistillLossName,
        cacheTeacher,
        teacherInput: cacheTeacher ? 'original' : 'augmented',
      }));
    } else {
      ({ history } = await train({ ...run, model: model as never, loss: loss as TrainLossName }));
    }
  } finally {
    teacher?.dispose();
  }

  // evaluation on the validation set
  const forward = (x: tf.Tensor) =>
    (model as unknown as { forward(x: tf.Tensor): { logits: tf.Tensor2D } }).forward(x).logits;
  const truth = validation.labels();
  const predicted = await predictClassesAsync(validation, forward, { batchSize: 256 });
  const counts = trainSet.classCounts();
  const groups = splitByCount(counts);
  const top1 = accuracy(truth, predicted);
  const perClass = perClassAccuracy(truth, predicted, numClasses);
  const hmt = groupAccuracy(truth, predicted, { head: groups.head, mid: groups.mid, tail: groups.tail }, numClasses);
  const confusion = confusionMatrix(truth, predicted, numClasses);
  const metrics = {
    top1,
    perClass: Object.fromEntries(trainSet.classNames.map((name, i) => [name, perClass[i]])),
    head: hmt.head,
    mid: hmt.mid,
    tail: hmt.tail,
    groups,
    trainImages: trainSet.length,
    validationImages: validation.length,
    epochs: history.length,
  };
  writeFileAtomic(path.join(outDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  const weightsFile = path.join(outDir, 'weights', 'model.safetensors');
  const bytes = await model.toSafetensorsAsync({
    architecture: arch,
    numClasses: String(numClasses),
    imageSize: String(h),
    channels: String(c),
    distilled: String(loss === 'deit-lt'),
    classNames: JSON.stringify(trainSet.classNames),
    config: JSON.stringify(modelConfig ?? {}),
  });
  writeFileAtomic(weightsFile, bytes);
  // model.json + model.safetensors (@distillery/vit saveModel): what `distillery eval/predict` and loadModel() read
  await saveModel(model as unknown as SavableModel, {
    dir: outDir,
    classes: [...trainSet.classNames],
    metadata: { imageSize: h, channels: c, loss, command },
  });
  const fmt = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(4));
  const table = {
    headers: ['model', 'top-1', 'head', 'mid', 'tail'],
    rows: [[`${arch} (${loss})`, fmt(top1), fmt(hmt.head), fmt(hmt.mid), fmt(hmt.tail)]],
  };
  const title = isDistill
    ? `distill ${teacherArch ?? (loadedTeacher ? path.basename(path.dirname(path.resolve(teacherFile!))) : 'self')} → ${arch} (${loss})`
    : `train ${arch} (${loss})`;
  const reportFile = path.join(outDir, 'report.html');
  writeFileAtomic(
    reportFile,
    renderHtmlReport({
      title,
      description: `${trainSet.length} training and ${validation.length} validation images of ${numClasses} classes from ${dataPath}. Head / mid / tail: classes with > 100, 20–100, < 20 training images.`,
      config,
      table,
      curves: {
        'training loss': [{ name: arch, x: history.map((r) => r.epoch + 1), y: history.map((r) => r.loss) }],
        'validation accuracy': [
          { name: arch, x: history.map((r) => r.epoch + 1), y: history.map((r) => r.valAccuracy ?? Number.NaN) },
        ],
      },
      perClass: { counts, accuracy: { [arch]: perClass }, classNames: [...trainSet.classNames] },
      confusion: [{ title: 'validation confusion matrix', matrix: confusion, labels: [...trainSet.classNames] }],
    }),
  );
  log({ event: 'end', metrics });
  model.dispose();
  io.out(`\n${formatTable(table.headers, table.rows)}\n`);
  io.out(`model: ${path.join(outDir, 'model.json')}`);
  io.out(`report: ${reportFile}`);
}

function jsonObject(value: unknown, flag: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(value));
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--${flag}: expected a JSON object, got ${JSON.stringify(value)}`);
  }
  return parsed as Record<string, unknown>;
}

function presetSize(arch: string): number | undefined {
  const m = /-(\d+)$/.exec(arch);
  return m && arch.startsWith('deit-') ? Number(m[1]) : undefined;
}
