import { DistilleryError, describeValue, formatShape, invalid } from '../errors';
import { checkEnum, checkOptions } from '../options';

/**
 * The safetensors format (huggingface/safetensors, docs "Format"), written from the specification:
 *
 *     8 bytes   N, the header length, unsigned 64-bit little endian
 *     N bytes   a UTF-8 JSON object { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} }
 *     rest      the byte buffer; offsets are relative to its start, little-endian, C order, no gaps or overlaps
 *
 * The header is padded with spaces to a multiple of 8 bytes (as the reference writer does) so the data is aligned.
 */

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor as stored: its dtype, PyTorch shape and raw little-endian bytes. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Raw bytes (a view into the file buffer when parsed). */
  bytes: Uint8Array;
}

/**
 * Input to `serializeSafetensors`: float32 values, stored as F32 (the default) or converted to F16 / BF16 (IEEE
 * round-to-nearest-even; overflow becomes ±inf, NaN stays NaN), or int64 values (e.g. BatchNorm
 * `num_batches_tracked`).
 */
export type SafetensorsInput =
  | { dtype?: 'F32' | 'F16' | 'BF16'; shape: number[]; data: Float32Array }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array };

/** The dtypes `serializeSafetensors` writes. */
const WRITABLE_DTYPES = ['F32', 'F16', 'BF16', 'I64'] as const;
type WritableEntry = { dtype?: (typeof WRITABLE_DTYPES)[number]; shape: number[]; data: Float32Array | BigInt64Array };

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** Serialises tensors to a safetensors byte buffer (works in browsers and Node). Names are written in sorted order. */
export function serializeSafetensors(
  tensors: Record<string, SafetensorsInput>,
  metadata: Record<string, string> = {},
): Uint8Array {
  if (!isLittleEndian) {
    throw new DistilleryError('FORMAT', 'safetensors: big-endian hosts are not supported');
  }
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors)) {
    throw invalid('INVALID_ARGUMENT', 'tensors', 'an object of named tensors', describeValue(tensors));
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw invalid('INVALID_ARGUMENT', 'metadata', 'an object of string values', describeValue(metadata));
  }
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw invalid('INVALID_ARGUMENT', `metadata.${k}`, 'a string', typeof v);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const name of names) {
    if (name === '__metadata__') throw invalid('INVALID_ARGUMENT', 'tensors', 'no tensor named __metadata__', name);
    const t = checkOptions<WritableEntry>(
      tensors[name],
      { dtype: WRITABLE_DTYPES, shape: true, data: true },
      `tensors.${name}`,
    );
    const dtype = checkEnum(t.dtype ?? 'F32', `tensors.${name}.dtype`, WRITABLE_DTYPES);
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw invalid('INVALID_ARGUMENT', `tensors.${name}.shape`, 'non-negative integer dimensions', String(shape));
    }
    const isInt = dtype === 'I64';
    if (!(isInt ? t.data instanceof BigInt64Array : t.data instanceof Float32Array)) {
      throw invalid(
        'INVALID_DTYPE',
        `tensors.${name}.data`,
        isInt ? 'a BigInt64Array for dtype I64' : `a Float32Array for dtype ${dtype}`,
        describeValue(t.data),
      );
    }
    const n = numel(shape);
    if (t.data.length !== n) {
      throw invalid(
        'SHAPE_MISMATCH',
        `tensors.${name}.data`,
        `${n} values for shape ${formatShape(shape)}`,
        `${t.data.length} values`,
      );
    }
    const bytes =
      dtype === 'F16' || dtype === 'BF16'
        ? toHalfBytes(t.data as Float32Array, dtype)
        : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const pad = (8 - (headerBytes.byteLength % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.byteLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.byteLength;
  }
  return out;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of a float32 value, rounded to nearest, ties to even (subnormals, ±inf and NaN kept). */
export function float32ToHalfBits(value: number): number {
  f32[0] = value;
  const x = f32Bits[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0);
  const e = exponent - 127 + 15; // the biased half exponent
  if (e >= 0x1f) return sign | 0x7c00; // beyond 65520 even before rounding
  let h: number;
  let rest: number;
  let halfway: number;
  if (e >= 1) {
    h = (e << 10) | (mantissa >>> 13);
    rest = mantissa & 0x1fff;
    halfway = 0x1000;
  } else {
    if (e < -10) return sign; // below half the smallest subnormal (2^-25): rounds to zero
    const full = mantissa | 0x800000; // the implicit leading bit
    const shift = 14 - e; // 14..24
    h = full >>> shift;
    rest = full & ((1 << shift) - 1);
    halfway = 1 << (shift - 1);
  }
  // A carry out of the mantissa moves to the next exponent, and out of the largest finite value to infinity.
  if (rest > halfway || (rest === halfway && (h & 1) === 1)) h += 1;
  return sign | h;
}

/** bfloat16 bits of a float32 value: its upper 16 bits, rounded to nearest, ties to even (NaN stays NaN). */
export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = f32Bits[0] as number;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function toHalfBytes(data: Float32Array, dtype: 'F16' | 'BF16'): Uint8Array {
  const out = new Uint16Array(data.length);
  const convert = dtype === 'F16' ? float32ToHalfBits : float32ToBfloat16Bits;
  for (let i = 0; i < data.length; i++) out[i] = convert(data[i] as number);
  return new Uint8Array(out.buffer);
}

/** Parses a safetensors buffer, validating the header, dtypes, shapes and that the offsets tile the data buffer. */
/** `source` names the file (or buffer) in errors. */
export function parseSafetensors(buffer: ArrayBuffer | Uint8Array, source = 'buffer'): SafetensorsFile {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (bytes.byteLength < 8) {
    throw invalid('FORMAT', source, 'at least 8 bytes (the header length)', `${bytes.byteLength} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8 || headerLength > 100_000_000) {
    throw invalid(
      'FORMAT',
      source,
      `a header length <= ${bytes.byteLength - 8} bytes`,
      `${headerLength} (not a safetensors file?)`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw invalid('FORMAT', source, 'a UTF-8 JSON header', `unparseable header (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw invalid('FORMAT', source, 'a JSON object header', typeof header);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  const ranges: [number, number, string][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info?.dtype as SafetensorsDtype;
    if (!(typeof dtype === 'string' && dtype in DTYPE_BYTES)) {
      throw invalid('FORMAT', name, `a dtype in ${Object.keys(DTYPE_BYTES).join('/')}`, String(info?.dtype));
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw invalid('FORMAT', name, 'a shape of non-negative integers', JSON.stringify(shape));
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[1] < offsets[0] ||
      offsets[1] > dataLength
    ) {
      throw invalid('FORMAT', name, `data_offsets [begin, end] within ${dataLength} bytes`, JSON.stringify(offsets));
    }
    const expectedBytes = numel(shape as number[]) * DTYPE_BYTES[dtype];
    if (offsets[1] - offsets[0] !== expectedBytes) {
      throw invalid(
        'FORMAT',
        name,
        `${expectedBytes} bytes for ${dtype} ${formatShape(shape as number[])}`,
        `${offsets[1] - offsets[0]} bytes`,
      );
    }
    ranges.push([offsets[0], offsets[1], name]);
    tensors.set(name, {
      dtype,
      shape: shape as number[],
      bytes: bytes.subarray(dataStart + offsets[0], dataStart + offsets[1]),
    });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cursor = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== cursor) {
      throw invalid('FORMAT', name, `data starting at byte ${cursor} (no gaps or overlaps)`, `byte ${begin}`);
    }
    cursor = end;
  }
  if (cursor !== dataLength) {
    throw invalid('FORMAT', source, `${cursor} data bytes after the header`, `${dataLength} bytes`);
  }
  return { tensors, metadata };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Decodes any stored dtype to float32 values (int64 through Number; BF16/F16 exactly). */
export function entryToFloat32(entry: SafetensorsEntry): Float32Array {
  const n = numel(entry.shape);
  const view = new DataView(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength);
  const out = new Float32Array(n);
  const reader: (i: number) => number = (() => {
    switch (entry.dtype) {
      case 'F32':
        return (i) => view.getFloat32(4 * i, true);
      case 'F64':
        return (i) => view.getFloat64(8 * i, true);
      case 'F16':
        return (i) => halfToFloat(view.getUint16(2 * i, true));
      case 'BF16':
        return (i) => {
          const scratch = new DataView(new ArrayBuffer(4));
          scratch.setUint32(0, view.getUint16(2 * i, true) << 16, true);
          return scratch.getFloat32(0, true);
        };
      case 'I64':
        return (i) => Number(view.getBigInt64(8 * i, true));
      case 'I32':
        return (i) => view.getInt32(4 * i, true);
      case 'I16':
        return (i) => view.getInt16(2 * i, true);
      case 'I8':
        return (i) => view.getInt8(i);
      default:
        return (i) => view.getUint8(i);
    }
  })();
  for (let i = 0; i < n; i++) out[i] = reader(i);
  return out;
}

/**
 * `node:fs/promises`, imported through a runtime specifier so browser bundlers leave it alone (the file helpers are
 * Node-only; browsers use the byte-level functions).
 */
async function nodeFs(): Promise<typeof import('node:fs/promises')> {
  const specifier = ['node', 'fs/promises'].join(':');
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as typeof import('node:fs/promises');
}

/**
 * Writes a safetensors file in Node: to a temporary file beside the target, then renamed over it, so a crash never
 * leaves a half-written checkpoint. (In browsers use `serializeSafetensors` and keep the bytes.)
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Record<string, SafetensorsInput>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata);
  const fs = await nodeFs();
  const temp = `${path}.tmp-${typeof process !== 'undefined' ? process.pid : 0}-${Date.now().toString(36)}`;
  try {
    await fs.writeFile(temp, bytes);
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new DistilleryError('IO', `path: could not write ${path} (${(error as Error).message})`, {
      argument: 'path',
    });
  }
}

/** Reads and parses a safetensors file in Node. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  const fs = await nodeFs();
  let data: Uint8Array;
  try {
    data = await fs.readFile(path);
  } catch (error) {
    throw new DistilleryError('IO', `path: could not read ${path} (${(error as Error).message})`, { argument: 'path' });
  }
  return parseSafetensors(data, path);
}
