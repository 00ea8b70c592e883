import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../errors';
import {
  entryToFloat32,
  parseSafetensors,
  readSafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
} from './safetensors';

function header(bytes: Uint8Array): { length: number; json: Record<string, unknown> } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) };
}

describe('safetensors', () => {
  it('writes the documented layout: u64 LE header length, 8-aligned JSON header, contiguous LE data', () => {
    const bytes = serializeSafetensors(
      {
        b: { shape: [2], data: new Float32Array([1.5, -2]) },
        a: { dtype: 'I64', shape: [], data: new BigInt64Array([7n]) },
      },
      { format: 'pt' },
    );
    const { length, json } = header(bytes);
    expect(length % 8).toBe(0);
    expect(json).toEqual({
      __metadata__: { format: 'pt' },
      a: { dtype: 'I64', shape: [], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
    });
    const view = new DataView(bytes.buffer, 8 + length);
    expect(view.getBigInt64(0, true)).toBe(7n);
    expect(view.getFloat32(8, true)).toBe(1.5);
    expect(view.getFloat32(12, true)).toBe(-2);
    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect(Array.from(entryToFloat32(parsed.tensors.get('b')!))).toEqual([1.5, -2]);
    expect(Array.from(entryToFloat32(parsed.tensors.get('a')!))).toEqual([7]);
  });

  it('decodes F16, BF16 and F64', () => {
    const raw = new Uint8Array(2 + 2 + 8);
    const v = new DataView(raw.buffer);
    v.setUint16(0, 0x3c00, true); // F16 1.0
    v.setUint16(2, 0xc000, true); // BF16 -2.0
    v.setFloat64(4, 0.25, true);
    expect(entryToFloat32({ dtype: 'F16', shape: [1], bytes: raw.subarray(0, 2) })[0]).toBe(1);
    expect(entryToFloat32({ dtype: 'BF16', shape: [1], bytes: raw.subarray(2, 4) })[0]).toBe(-2);
    expect(entryToFloat32({ dtype: 'F64', shape: [1], bytes: raw.subarray(4, 12) })[0]).toBe(0.25);
  });

  it('rejects truncated, malformed and inconsistent files', () => {
    const good = serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(4) } });
    expect(() => parseSafetensors(good.subarray(0, 4))).toThrow(DistilleryError);
    expect(() => parseSafetensors(good.subarray(0, good.byteLength - 4))).toThrow(/bytes/);
    const bad = good.slice();
    bad[8] = 0x7b + 1; // break the JSON
    expect(() => parseSafetensors(bad)).toThrow(/JSON/);
    const wrongShape = new TextEncoder().encode(
      JSON.stringify({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }),
    );
    const buf = new Uint8Array(8 + wrongShape.byteLength + 8);
    new DataView(buf.buffer).setBigUint64(0, BigInt(wrongShape.byteLength), true);
    buf.set(wrongShape, 8);
    expect(() => parseSafetensors(buf)).toThrow(/12 bytes for F32 \[3\]/);
    expect(() => serializeSafetensors({ w: { shape: [3], data: new Float32Array(2) } })).toThrow(/tensors\.w\.data/);
  });

  it('writes files atomically (temporary file renamed) and reads them back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vit-st-'));
    const file = path.join(dir, 'w.safetensors');
    await writeSafetensorsFile(file, { x: { shape: [3], data: new Float32Array([1, 2, 3]) } });
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    const back = await readSafetensorsFile(file);
    expect(Array.from(entryToFloat32(back.tensors.get('x')!))).toEqual([1, 2, 3]);
    expect(readFileSync(file).byteLength).toBeGreaterThan(12);
    await expect(readSafetensorsFile(path.join(dir, 'missing.safetensors'))).rejects.toThrow(/path/);
  });
});
