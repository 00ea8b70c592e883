import { checkOptions, describeValue, invalid, type OptionsSpec } from '@distillery/tensor';
import { InMemoryDataset } from '../dataset/in-memory-dataset';

/**
 * IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/ "FILE FORMATS"): a 4-byte magic number
 * `0x00 0x00 <type> <ndims>`, then `ndims` big-endian uint32 dimension sizes, then the values in row-major order.
 * Only type 0x08 (unsigned byte), the type of MNIST and Fashion-MNIST, is read; the others (0x09 signed byte,
 * 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) are refused by name rather than misread.
 */
export interface IdxArray {
  /** Dimension sizes from the header, e.g. [60000, 28, 28] for an images file, [60000] for a labels file. */
  dims: number[];
  /** The values, row-major (a view into the decompressed bytes, not a copy). */
  data: Uint8Array;
  /** The file name the bytes came from (used in error messages). */
  file: string;
}

export interface ParseIdxOptions {
  /** Names the bytes in error messages (a path or a file name; default 'idx'). */
  file?: string;
}

const PARSE_OPTIONS: OptionsSpec<ParseIdxOptions> = { file: true };

const IDX_TYPES: Record<number, string> = {
  8: 'unsigned byte',
  9: 'signed byte',
  11: 'int16',
  12: 'int32',
  13: 'float32',
  14: 'float64',
};

const hex = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;

/** True when `bytes` start with the gzip magic number 1f 8b (RFC 1952). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function toBytes(data: unknown, argument: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw invalid('INVALID_ARGUMENT', argument, 'a Uint8Array or ArrayBuffer', describeValue(data));
}

function fileName(options: ParseIdxOptions | undefined): string {
  const { file = 'idx' } = checkOptions<ParseIdxOptions>(options, PARSE_OPTIONS);
  if (typeof file !== 'string' || file === '') {
    throw invalid('INVALID_ARGUMENT', 'options.file', 'a non-empty file name', describeValue(file));
  }
  return file;
}

/** Node's zlib.gunzipSync without importing node:zlib (so bundles for browsers stay clean); undefined elsewhere. */
function nodeGunzipSync(): ((bytes: Uint8Array) => Uint8Array) | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined; // browsers, Node < 20.16
  const zlib = proc.getBuiltinModule('node:zlib') as { gunzipSync?: (b: Uint8Array) => Uint8Array } | undefined;
  return zlib?.gunzipSync;
}

function gzipError(file: string, error: unknown): never {
  const reason = (error as Error)?.message ?? String(error);
  throw invalid('FORMAT', file, 'a complete gzip stream', `a corrupt or truncated one (${reason})`);
}

/**
 * Gunzips `bytes` when they start with the gzip magic number, otherwise returns them as they are. Works in browsers
 * (`DecompressionStream('gzip')`) and Node (zlib). A corrupt or truncated gzip stream is a FORMAT error naming `file`.
 */
export async function gunzipIfNeeded(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const sync = nodeGunzipSync();
  if (sync) {
    try {
      return new Uint8Array(sync(bytes));
    } catch (error) {
      gzipError(file, error);
    }
  }
  const DS = (globalThis as { DecompressionStream?: new (format: string) => TransformStream }).DecompressionStream;
  if (typeof DS !== 'function') {
    throw invalid('BACKEND_UNAVAILABLE', file, 'DecompressionStream or Node zlib to gunzip the file', 'neither');
  }
  try {
    const reader = new Blob([bytes as unknown as BlobPart]).stream().pipeThrough(new DS('gzip')).getReader();
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value as Uint8Array);
      length += (r.value as Uint8Array).length;
    }
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  } catch (error) {
    gzipError(file, error);
  }
}

/**
 * Parses the bytes of one IDX file (raw, or gzip-compressed when a synchronous gunzip exists: Node ≥ 20.16; in a
 * browser use `decodeIdx`, which is async). Errors, each one DistilleryError naming the file: a wrong magic number,
 * a type other than unsigned byte, fewer bytes than the header announces (truncated), or more (trailing data).
 */
export function parseIdx(bytes: Uint8Array | ArrayBuffer, options: ParseIdxOptions = {}): IdxArray {
  const file = fileName(options);
  let raw = toBytes(bytes, 'bytes');
  if (isGzip(raw)) {
    const gunzip = nodeGunzipSync();
    if (!gunzip) {
      throw invalid(
        'FORMAT',
        file,
        'raw IDX bytes (no synchronous gunzip here)',
        'gzip-compressed bytes',
        'Use decodeIdx (async), which gunzips with DecompressionStream',
      );
    }
    try {
      raw = new Uint8Array(gunzip(raw));
    } catch (error) {
      gzipError(file, error);
    }
  }
  return parseRawIdx(raw, file);
}

/** `parseIdx` for raw or gzip-compressed bytes in any environment (browser file picker, Node). */
export async function decodeIdx(bytes: Uint8Array | ArrayBuffer, options: ParseIdxOptions = {}): Promise<IdxArray> {
  const file = fileName(options);
  return parseRawIdx(await gunzipIfNeeded(toBytes(bytes, 'bytes'), file), file);
}

function parseRawIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) {
    throw invalid('FORMAT', file, 'an IDX file (at least the 4-byte magic number)', `${bytes.length} bytes`);
  }
  const [z0, z1, type, ndims] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  if (z0 !== 0 || z1 !== 0 || !(type in IDX_TYPES) || ndims === 0) {
    throw invalid(
      'FORMAT',
      file,
      'an IDX magic number 00 00 <type> <ndims> (00 00 08 03 for images, 00 00 08 01 for labels)',
      `${[z0, z1, type, ndims].map(hex).join(' ')}`,
    );
  }
  if (type !== 0x08) {
    throw invalid(
      'FORMAT',
      file,
      'IDX values of type 0x08 (unsigned byte), the only type read',
      `type ${hex(type)} (${IDX_TYPES[type]})`,
    );
  }
  const header = 4 + 4 * ndims;
  if (bytes.length < header) {
    throw invalid('FORMAT', file, `a ${header}-byte IDX header (${ndims} dimensions)`, `${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, d) => view.getUint32(4 + 4 * d, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const total = header + size;
  if (bytes.length !== total) {
    throw invalid(
      'FORMAT',
      file,
      `${total} bytes (header of ${header} + ${dims.join('×')} values)`,
      `${bytes.length} bytes (${bytes.length < total ? 'truncated' : 'trailing data after the values'})`,
    );
  }
  return { dims, data: bytes.subarray(header, total), file };
}

export interface IdxDatasetOptions {
  /** Class names; defaults to '0' … 'C−1' with C = max(label) + 1. */
  classNames?: readonly string[];
}

/**
 * An `InMemoryDataset` from a parsed images file ([N, H, W] or [N, H, W, C]) and labels file ([N]). Pixels stay
 * uint8 (a view, no copy) and batches give float32 in [0, 1] (scale 1/255), shaped [B, H, W, C] (C = 1 for a
 * 3-dimensional images file), as `loadDigits` gives [B, 8, 8, 1]. Labels are int32. An image/label count mismatch
 * is a SHAPE_MISMATCH error naming both files.
 */
export function idxDataset(
  parts: { images: IdxArray; labels: IdxArray },
  options: IdxDatasetOptions = {},
): InMemoryDataset {
  const { classNames } = checkOptions<IdxDatasetOptions>(options, { classNames: true });
  checkOptions<{ images: IdxArray; labels: IdxArray }>(parts ?? null, { images: true, labels: true }, 'parts');
  const { images, labels } = parts;
  for (const [key, part] of [
    ['images', images],
    ['labels', labels],
  ] as const) {
    if (!part || !Array.isArray(part.dims) || !(part.data instanceof Uint8Array)) {
      throw invalid(
        'INVALID_ARGUMENT',
        `parts.${key}`,
        'a parsed IDX file (parseIdx / decodeIdx)',
        describeValue(part),
      );
    }
  }
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw invalid(
      'INVALID_RANK',
      images.file,
      'an IDX images file of 3 dimensions [N, H, W] (or 4, [N, H, W, C])',
      `[${images.dims.join(', ')}]`,
    );
  }
  if (labels.dims.length !== 1) {
    throw invalid('INVALID_RANK', labels.file, 'an IDX labels file of 1 dimension [N]', `[${labels.dims.join(', ')}]`);
  }
  const n = images.dims[0]!;
  if (labels.dims[0] !== n) {
    throw invalid(
      'SHAPE_MISMATCH',
      `${labels.file}`,
      `${n} labels (${images.file} has ${n} images)`,
      `${labels.dims[0]} labels`,
    );
  }
  if (n === 0) throw invalid('EMPTY_INPUT', images.file, 'at least one image', '0 images');
  const [, h, w, c = 1] = images.dims as [number, number, number, number?];
  if (classNames !== undefined) {
    let max = 0;
    for (const y of labels.data) if (y > max) max = y;
    if (!Array.isArray(classNames) || classNames.length <= max) {
      throw invalid(
        'OUT_OF_RANGE',
        labels.file,
        `labels below the ${Array.isArray(classNames) ? classNames.length : '?'} class names`,
        `label ${max}`,
      );
    }
  }
  return new InMemoryDataset({
    pixels: images.data,
    labels: labels.data,
    imageShape: [h, w, c],
    ...(classNames ? { classNames } : {}),
    scale: 1 / 255,
  });
}

/**
 * Where one IDX file comes from: a path (Node only), its bytes (raw or gzip), or a `Blob`/`File` (a browser file
 * picker's `input.files[0]`; its `name` is used in errors).
 */
export type IdxSource = string | Uint8Array | ArrayBuffer | Blob;

export interface LoadIdxOptions extends IdxDatasetOptions {
  images: IdxSource;
  labels: IdxSource;
}

async function readSource(source: IdxSource, argument: string): Promise<{ bytes: Uint8Array; file: string }> {
  if (typeof source === 'string') {
    if (source === '') throw invalid('INVALID_ARGUMENT', argument, 'a path, bytes or a File', '""');
    const fs = await import('node:fs/promises');
    try {
      return { bytes: new Uint8Array(await fs.readFile(source)), file: source };
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw invalid('IO', source, 'a readable IDX file', code === 'ENOENT' ? 'no such file' : (error as Error).message);
    }
  }
  if (source instanceof Uint8Array || source instanceof ArrayBuffer)
    return { bytes: toBytes(source, argument), file: argument };
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as { name?: unknown }).name;
    return {
      bytes: new Uint8Array(await source.arrayBuffer()),
      file: typeof name === 'string' && name !== '' ? name : argument,
    };
  }
  throw invalid('INVALID_ARGUMENT', argument, 'a path, a Uint8Array/ArrayBuffer or a Blob/File', describeValue(source));
}

/**
 * Awaits two promises together but, when both fail, reports the first one's error: `Promise.all` would report
 * whichever failed first in time, so the error named (images or labels) would depend on the file system's timing.
 */
async function bothInOrder<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/**
 * Loads an images file and a labels file in the IDX format (raw or gzip) as an `InMemoryDataset`: images
 * [N, H, W, 1] float32 in [0, 1] when batched (uint8 in memory), labels int32. Each source is a path (Node), bytes
 * or a `File` (browser). Never downloads. Errors name the file (the path, the File's name, or
 * `options.images` / `options.labels` for bare bytes).
 */
export async function loadIdx(options: LoadIdxOptions): Promise<InMemoryDataset> {
  const { images, labels, classNames } = checkOptions<LoadIdxOptions>(options ?? null, {
    images: true,
    labels: true,
    classNames: true,
  });
  const [img, lab] = await bothInOrder(readSource(images, 'options.images'), readSource(labels, 'options.labels'));
  const [imageArray, labelArray] = await bothInOrder(
    decodeIdx(img.bytes, { file: img.file }),
    decodeIdx(lab.bytes, { file: lab.file }),
  );
  return idxDataset({ images: imageArray, labels: labelArray }, classNames ? { classNames } : {});
}
