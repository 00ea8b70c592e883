// A small image folder to try `distillery distill` on: three classes of generated 32×32 PNG images (horizontal,
// vertical and diagonal stripes of random colours, period and phase, with noise), one sub-folder per class, split into
// DIR/train and DIR/test. No dependencies: the PNG encoder below is the format's minimum (8-bit RGB, one IDAT).
//
//   node examples/distill-own/make-images.mjs DIR [--train N] [--test N]   (images per class; default 30 and 10)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';

const { values, positionals } = parseArgs({
  options: { train: { type: 'string', default: '30' }, test: { type: 'string', default: '10' } },
  allowPositionals: true,
});
const counts = { train: Number(values.train), test: Number(values.test) };
if (positionals.length !== 1 || !Object.values(counts).every((n) => Number.isInteger(n) && n >= 1)) {
  console.error('usage: node make-images.mjs DIR [--train N] [--test N]   (N: images per class, an integer >= 1)');
  process.exit(2);
}
const root = positionals[0];
const SIZE = 32;
const CLASSES = {
  horizontal: (_x, y) => y,
  vertical: (x, _y) => x,
  diagonal: (x, y) => x + y,
};

let state = 12345;
/** mulberry32: the same images on every run. */
function random() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function png(width, height, rgb) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    out.set(data, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  const raw = Buffer.alloc(height * (1 + width * 3)); // each row: filter byte 0, then the pixels
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function stripes(coordinate) {
  const colour = () => [0, 1, 2].map(() => Math.floor(random() * 256));
  const [fg, bg] = [colour(), colour()];
  const period = 4 + Math.floor(random() * 5);
  const phase = Math.floor(random() * period);
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const on = (coordinate(x, y) + phase) % period < period / 2;
      for (let c = 0; c < 3; c++) {
        const v = (on ? fg : bg)[c] + (random() - 0.5) * 40;
        rgb[(y * SIZE + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return png(SIZE, SIZE, rgb);
}

for (const [split, n] of Object.entries(counts)) {
  for (const [name, coordinate] of Object.entries(CLASSES)) {
    const dir = path.join(root, split, name);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(path.join(dir, `${String(i).padStart(3, '0')}.png`), stripes(coordinate));
  }
}
console.log(
  `wrote ${root}/train and ${root}/test: ${Object.keys(CLASSES).join(', ')} (${counts.train} + ${counts.test} images each)`,
);
