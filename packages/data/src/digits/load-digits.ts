import { checkNumber, checkOptions, invalid } from '@distillery/tensor';
import { InMemoryDataset } from '../dataset/in-memory-dataset';
import { DIGITS_BASE64 } from './digits-bin';

let cache: { pixels: Uint8Array; labels: Uint8Array } | null = null;

function decodeBase64(text: string): Uint8Array {
  if (typeof atob === 'function') {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (!B) throw invalid('BACKEND_UNAVAILABLE', 'atob', 'atob or Buffer', 'neither');
  return new Uint8Array(B.from(text, 'base64'));
}

function decode(): { pixels: Uint8Array; labels: Uint8Array } {
  if (cache) return cache;
  const bytes = decodeBase64(DIGITS_BASE64);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  const n = bytes[4]! | (bytes[5]! << 8);
  const h = bytes[6]!;
  const w = bytes[7]!;
  if (magic !== 'DGT1' || bytes.length !== 8 + n + n * h * w) {
    throw invalid('FORMAT', 'digits-bin', 'the DGT1 digits binary', `${magic}, ${bytes.length} bytes`);
  }
  cache = { labels: bytes.subarray(8, 8 + n), pixels: bytes.subarray(8 + n) };
  return cache;
}

/**
 * The UCI optical hand-written digits (Alpaydin & Kaynak 1998; CC BY 4.0; the copy in scikit-learn's `load_digits`):
 * 1,797 grey images 8×8×1 with pixel counts 0…16, classes '0' … '9', shipped inside the package (no download, no
 * Python). Pixels are scaled by 1/16 to [0, 1] by default (`scale: 1` keeps the raw counts).
 */
export function loadDigits(options: { scale?: number } = {}): InMemoryDataset {
  checkOptions<{ scale?: number }>(options, { scale: true });
  checkNumber(options.scale ?? 1 / 16, 'options.scale', { min: 0, minExclusive: true });
  const { pixels, labels } = decode();
  return new InMemoryDataset({
    pixels,
    labels,
    imageShape: [8, 8, 1],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    scale: options.scale ?? 1 / 16,
  });
}
