// A generated image folder for the CLI tests: root/<class>/<i>.png, written with a minimal PNG encoder.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { createRng } from '@distillery/tensor';

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A minimal RGB PNG (8-bit, no interlace) of `pixels` [h·w·3]. */
export function png(width: number, height: number, pixels: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(Buffer.from(type, 'ascii'), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8);
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++)
    raw.set(pixels.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

/** root/<class>/<i>.png, 8×8: class c is bright in quadrant c, plus noise. */
export function imageFolder(root: string, perClass: number[], seed = 0): string {
  const rng = createRng(seed);
  perClass.forEach((n, c) => {
    const dir = path.join(root, `class${c}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = new Uint8Array(8 * 8 * 3);
      for (let p = 0; p < 64; p++) {
        const q = (p < 32 ? 0 : 2) + (p % 8 < 4 ? 0 : 1);
        const v = Math.max(0, Math.min(255, (q === c ? 200 : 30) + rng.normal(0, 20)));
        px.fill(Math.round(v), p * 3, p * 3 + 3);
      }
      writeFileSync(path.join(dir, `${i}.png`), png(8, 8, px));
    }
  });
  return root;
}
