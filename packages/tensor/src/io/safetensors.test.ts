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

describe('safetensors: F16 and BF16 writing', () => {
  const roundTrip = (data: Float32Array, dtype: 'F16' | 'BF16') => {
    const bytes = serializeSafetensors({ x: { dtype, shape: [data.length], data } });
    const entry = parseSafetensors(bytes).tensors.get('x')!;
    expect(entry.dtype).toBe(dtype);
    expect(entry.bytes.byteLength).toBe(2 * data.length);
    return entry;
  };

  it('F16: every finite half value round-trips bit-exactly, ±inf and NaN are kept', () => {
    const values: number[] = [];
    const halves = new Uint8Array(2 * 0x10000);
    const view = new DataView(halves.buffer);
    for (let h = 0; h < 0x10000; h++) view.setUint16(2 * h, h, true);
    const decoded = entryToFloat32({ dtype: 'F16', shape: [0x10000], bytes: halves });
    for (let h = 0; h < 0x10000; h++) values.push(decoded[h] as number);
    const entry = roundTrip(Float32Array.from(values), 'F16');
    const back = new DataView(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength);
    let mismatches = 0;
    for (let h = 0; h < 0x10000; h++) {
      const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      const got = back.getUint16(2 * h, true);
      if (isNan ? (got & 0x7c00) !== 0x7c00 || (got & 0x3ff) === 0 : got !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('F16: rounds to nearest, ties to even, between every pair of neighbouring halves (normal and subnormal)', () => {
    // Neighbours a < b among the positive finite halves; their midpoint is exact in float32. The midpoint goes to
    // the one with an even last bit; one float32 ulp either side goes to the nearer one.
    const below: number[] = [];
    const mid: number[] = [];
    const above: number[] = [];
    const expectMid: number[] = [];
    const f = new Float32Array(1);
    const bits = new Uint32Array(f.buffer);
    const nudge = (v: number, d: number) => {
      f[0] = v;
      bits[0] = (bits[0] as number) + d;
      return f[0] as number;
    };
    const table = new Uint8Array(2 * 0x7c00);
    for (let h = 0; h < 0x7c00; h++) new DataView(table.buffer).setUint16(2 * h, h, true);
    const decoded = entryToFloat32({ dtype: 'F16', shape: [0x7c00], bytes: table });
    const half = (h: number) => decoded[h] as number;
    for (let h = 0; h < 0x7bff; h++) {
      const a = half(h);
      const b = half(h + 1);
      const m = (a + b) / 2;
      mid.push(m);
      expectMid.push(h % 2 === 0 ? h : h + 1);
      below.push(nudge(m, -1));
      above.push(nudge(m, 1));
    }
    const bitsOf = (data: number[]) => {
      const e = roundTrip(Float32Array.from(data), 'F16');
      return Array.from(new Uint16Array(e.bytes.slice().buffer));
    };
    const n = mid.length;
    expect(bitsOf(mid)).toEqual(expectMid);
    expect(bitsOf(below)).toEqual(Array.from({ length: n }, (_, h) => h));
    expect(bitsOf(above)).toEqual(Array.from({ length: n }, (_, h) => h + 1));
  });

  it('F16: overflow, underflow, signs and specials', () => {
    const data = Float32Array.from([
      65504,
      65519.99,
      65520,
      1e6,
      -1e6,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      2 ** -25,
      nudgeUp(2 ** -25),
      2 ** -24,
      1e-30,
      -1e-30,
      -0,
      1 / 3,
      -2.5,
    ]);
    const values = Array.from(entryToFloat32(roundTrip(data, 'F16')));
    expect(values.slice(0, 7)).toEqual([65504, 65504, Infinity, Infinity, -Infinity, Infinity, -Infinity]);
    expect(values[7]).toBeNaN();
    expect(values.slice(8, 11)).toEqual([0, 2 ** -24, 2 ** -24]);
    expect(Object.is(values[11], 0)).toBe(true);
    expect(Object.is(values[12], -0)).toBe(true);
    expect(Object.is(values[13], -0)).toBe(true);
    expect(values[14]).toBe(0.333251953125); // 0x3555
    expect(values[15]).toBe(-2.5);
  });

  it('BF16: round to nearest even on the upper 16 bits; every bfloat16 value round-trips', () => {
    const data = Float32Array.from([
      1,
      1 + 2 ** -8,
      1 + 3 * 2 ** -8,
      nudgeUp(1 + 2 ** -8),
      -3.5,
      3.4e38,
      Number.NaN,
      -0,
    ]);
    const values = Array.from(entryToFloat32(roundTrip(data, 'BF16')));
    expect(values.slice(0, 5)).toEqual([1, 1, 1 + 2 ** -6, 1 + 2 ** -7, -3.5]);
    expect(values[5]).toBe(Infinity); // above the largest bfloat16 (3.3895e38) by more than half an ulp
    expect(values[6]).toBeNaN();
    expect(Object.is(values[7], -0)).toBe(true);
    const all = new Uint8Array(2 * 0x10000);
    const view = new DataView(all.buffer);
    for (let h = 0; h < 0x10000; h++) view.setUint16(2 * h, h, true);
    const decoded = entryToFloat32({ dtype: 'BF16', shape: [0x10000], bytes: all });
    const back = new Uint16Array(roundTrip(decoded, 'BF16').bytes.slice().buffer);
    let mismatches = 0;
    for (let h = 0; h < 0x10000; h++) {
      const isNan = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (!isNan && back[h] !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('refuses a dtype it cannot write, data of the wrong type and unknown keys', () => {
    const data = new Float32Array(2);
    expect(() => serializeSafetensors({ x: { dtype: 'F64' as 'F32', shape: [2], data } })).toThrowError(
      /tensors\.x\.dtype: expected one of "F32", "F16", "BF16", "I64"/,
    );
    expect(() =>
      serializeSafetensors({ x: { dtype: 'I64', shape: [2], data: data as unknown as BigInt64Array } }),
    ).toThrowError(/tensors\.x\.data: expected a BigInt64Array/);
    expect(() =>
      serializeSafetensors({ x: { dtype: 'F16', shape: [2], data: [1, 2] as unknown as Float32Array } }),
    ).toThrowError(/tensors\.x\.data: expected a Float32Array for dtype F16/);
    expect(() => serializeSafetensors({ x: { shape: [2], data, dtyp: 'F16' } as never })).toThrowError(
      /tensors\.x\.dtyp: unknown option \(did you mean "dtype"\?\)/,
    );
    expect(() => serializeSafetensors(null as never)).toThrowError(/tensors: expected an object/);
  });
});

function nudgeUp(v: number): number {
  const f = new Float32Array([v]);
  const bits = new Uint32Array(f.buffer);
  bits[0] = (bits[0] as number) + 1;
  return f[0] as number;
}
