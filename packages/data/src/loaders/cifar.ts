import { checkEnum, checkOptions, describeValue, invalid, type OptionsSpec } from '@distillery/tensor';
import { InMemoryDataset } from '../dataset/in-memory-dataset';

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  /** 'cifar10' (default) or 'cifar100'. */
  variant?: CifarVariant;
  /** 'train' (default) or 'test'. */
  split?: 'train' | 'test';
  /** CIFAR-100 labels: 'fine' (100 classes, default) or 'coarse' (20 superclasses). */
  labelMode?: 'fine' | 'coarse';
}

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

const VARIANTS = ['cifar10', 'cifar100'] as const;
const SPLITS = ['train', 'test'] as const;
const CIFAR_OPTIONS: OptionsSpec<CifarOptions> = { variant: VARIANTS, split: SPLITS, labelMode: ['fine', 'coarse'] };

/** The checked options with their defaults. `labelMode` is a CIFAR-100 option: with CIFAR-10 it is an error. */
function cifarOptions(options: CifarOptions | undefined): Required<CifarOptions> {
  const { variant = 'cifar10', split = 'train', labelMode } = checkOptions<CifarOptions>(options, CIFAR_OPTIONS);
  if (variant === 'cifar10' && labelMode !== undefined) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.labelMode',
      "no labelMode for CIFAR-10 (it selects CIFAR-100's fine or coarse labels)",
      JSON.stringify(labelMode),
    );
  }
  return { variant, split, labelMode: labelMode ?? 'fine' };
}

/** The binary files of a split ("binary version" of https://www.cs.toronto.edu/~kriz/cifar.html). */
export function cifarFiles(variant: CifarVariant, split: 'train' | 'test'): string[] {
  checkEnum(variant, 'variant', VARIANTS);
  checkEnum(split, 'split', SPLITS);
  if (variant === 'cifar10') {
    return split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  }
  return [split === 'train' ? 'train.bin' : 'test.bin'];
}

function names(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  const out = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  return out.length ? out : undefined;
}

/**
 * Parses CIFAR-10/100 binary batches (browser-friendly: pass the file contents). CIFAR-10 records are
 * `<1 byte label><3072 bytes R,G,B planes 32×32>`, CIFAR-100 `<coarse><fine><3072 bytes>`. Pixels are converted
 * to HWC uint8 and scaled by 1/255 when batched. `files` maps file names (as in the archive, any folder prefix) to
 * their bytes; class names come from batches.meta.txt / fine_label_names.txt / coarse_label_names.txt when present.
 */
export function parseCifar(
  files: Record<string, Uint8Array | ArrayBuffer>,
  options: CifarOptions = {},
): InMemoryDataset {
  const { variant, split, labelMode } = cifarOptions(options);
  if (files === null || typeof files !== 'object' || Array.isArray(files)) {
    throw invalid('INVALID_ARGUMENT', 'files', 'an object mapping file names to their bytes', describeValue(files));
  }
  const byBase = new Map<string, { path: string; bytes: Uint8Array }>();
  for (const [path, data] of Object.entries(files)) {
    if (!(data instanceof Uint8Array || data instanceof ArrayBuffer)) {
      throw invalid(
        'INVALID_ARGUMENT',
        `files[${JSON.stringify(path)}]`,
        'a Uint8Array or ArrayBuffer',
        describeValue(data),
      );
    }
    const base = path.split('/').pop()!;
    byBase.set(base, { path, bytes: data instanceof Uint8Array ? data : new Uint8Array(data) });
  }
  const recordSize = variant === 'cifar10' ? 3073 : 3074;
  const parts: { path: string; bytes: Uint8Array }[] = [];
  for (const name of cifarFiles(variant, split)) {
    const f = byBase.get(name);
    if (!f) throw invalid('IO', name, `the ${variant} ${split} file ${name}`, 'missing');
    if (f.bytes.length === 0 || f.bytes.length % recordSize !== 0) {
      throw invalid('FORMAT', f.path, `a multiple of ${recordSize}-byte ${variant} records`, `${f.bytes.length} bytes`);
    }
    parts.push(f);
  }
  const n = parts.reduce((s, p) => s + p.bytes.length / recordSize, 0);
  const pixels = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  let k = 0;
  for (const { bytes } of parts) {
    for (let off = 0; off < bytes.length; off += recordSize, k++) {
      labels[k] = variant === 'cifar10' ? bytes[off]! : bytes[off + (labelMode === 'coarse' ? 0 : 1)]!;
      const img = off + recordSize - 3072;
      const out = k * 3072;
      for (let p = 0; p < 1024; p++) {
        pixels[out + 3 * p] = bytes[img + p]!;
        pixels[out + 3 * p + 1] = bytes[img + 1024 + p]!;
        pixels[out + 3 * p + 2] = bytes[img + 2048 + p]!;
      }
    }
  }
  const C = variant === 'cifar10' ? 10 : labelMode === 'coarse' ? 20 : 100;
  const max = labels.reduce((a, b) => Math.max(a, b), 0);
  if (max >= C) throw invalid('FORMAT', parts[0]!.path, `labels below ${C}`, String(max));
  const decoder = new TextDecoder();
  const text = (name: string) => {
    const f = byBase.get(name);
    return f ? decoder.decode(f.bytes) : undefined;
  };
  let classNames =
    variant === 'cifar10'
      ? names(text('batches.meta.txt'))
      : names(text(labelMode === 'coarse' ? 'coarse_label_names.txt' : 'fine_label_names.txt'));
  if (!classNames || classNames.length < C) {
    classNames = variant === 'cifar10' ? [...CIFAR10_CLASSES] : Array.from({ length: C }, (_, c) => String(c));
  }
  return new InMemoryDataset({
    pixels,
    labels,
    imageShape: [32, 32, 3],
    classNames: classNames.slice(0, C),
    scale: 1 / 255,
  });
}

/**
 * Loads CIFAR-10/100 in Node from a folder (the extracted `cifar-10-batches-bin` / `cifar-100-binary`, or its parent)
 * or directly from the `.tar.gz` archive. Never downloads. A missing or corrupt file throws a DistilleryError naming
 * the path.
 */
export async function loadCifar(path: string, options: CifarOptions = {}): Promise<InMemoryDataset> {
  const { variant, split } = cifarOptions(options);
  if (typeof path !== 'string' || path === '') {
    throw invalid('INVALID_ARGUMENT', 'path', 'a CIFAR folder or .tar.gz path', describeValue(path));
  }
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(path);
  } catch (error) {
    throw invalid('IO', path, 'an existing CIFAR folder or .tar.gz archive', (error as Error).message);
  }
  const wanted = [...cifarFiles(variant, split), 'batches.meta.txt', 'fine_label_names.txt', 'coarse_label_names.txt'];
  const files: Record<string, Uint8Array> = {};
  if (stat.isDirectory()) {
    const sub = variant === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary';
    const dirs = [path, nodePath.join(path, sub)];
    for (const name of wanted) {
      for (const dir of dirs) {
        const file = nodePath.join(dir, name);
        try {
          files[file] = new Uint8Array(await fs.readFile(file));
          break;
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR') {
            throw invalid('IO', file, 'a readable file', (error as Error).message);
          }
        }
      }
    }
    const missing = cifarFiles(variant, split).find((n) => !Object.keys(files).some((f) => f.endsWith(`/${n}`)));
    if (missing) throw invalid('IO', nodePath.join(path, missing), `the ${variant} file ${missing}`, 'missing');
  } else {
    const { gunzipSync } = await import('node:zlib');
    const { readTar } = await import('./tar');
    let bytes: Uint8Array = new Uint8Array(await fs.readFile(path));
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = new Uint8Array(gunzipSync(bytes));
      } catch (error) {
        throw invalid('FORMAT', path, 'a gzip-compressed tar archive', (error as Error).message);
      }
    }
    for (const [name, data] of readTar(bytes, path)) {
      if (wanted.includes(name.split('/').pop()!)) files[`${path}:${name}`] = data;
    }
    const missing = cifarFiles(variant, split).find((n) => !Object.keys(files).some((f) => f.endsWith(`/${n}`)));
    if (missing) throw invalid('IO', `${path}:${missing}`, `the ${variant} file ${missing} in the archive`, 'missing');
  }
  return parseCifar(files, options);
}
