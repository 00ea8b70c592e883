import { invalid } from '@distillery/tensor';

/** A float32 tensor as stored in a checkpoint. */
export interface StoredTensor {
  shape: number[];
  values: Float32Array;
}

/**
 * Encodes float32 tensors and a string metadata map in the safetensors layout (huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header `{ name: { dtype: 'F32', shape, data_offsets: [begin, end] },
 * __metadata__: { key: string } }` padded with spaces to 8 bytes, then the raw little-endian data.
 */
export function encodeSafetensors(
  tensors: Record<string, StoredTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = t.values.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, 0, true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const v = tensors[name]!.values;
    for (let i = 0; i < v.length; i++) view.setFloat32(at + 4 * i, v[i]!, true);
    at += v.length * 4;
  }
  return out;
}

/** Decodes a safetensors buffer of F32 tensors; `source` names the file in errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'checkpoint',
): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  const fail = (what: string) => invalid('FORMAT', source, 'a safetensors checkpoint', what);
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw fail(`${bytes?.length ?? 0} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (size > bytes.length - 8) throw fail(`a header of ${size} bytes in a ${bytes.length}-byte file`);
  let header: Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  } catch {
    throw fail('an unreadable header');
  }
  const dataStart = 8 + size;
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== 'F32' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) throw fail(`entry ${name}`);
    const [b, end] = e.data_offsets;
    const n = e.shape.reduce((a, d) => a * d, 1);
    if (end - b !== n * 4 || dataStart + end > bytes.length) throw fail(`truncated data for ${name}`);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = view.getFloat32(dataStart + b + 4 * i, true);
    tensors[name] = { shape: e.shape, values };
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string>) ?? {} };
}
