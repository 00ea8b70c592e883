import { checkEnum, checkNumber, checkOptions, describeValue, invalid } from '@distillery/tensor';
import { InMemoryDataset } from '../dataset/in-memory-dataset';

/** A decoded image: RGBA or grey bytes. */
export interface DecodedImage {
  width: number;
  height: number;
  /** H·W·channels bytes. */
  data: Uint8Array;
  channels: number;
}

type Codecs = { jpeg: typeof import('jpeg-js'); pngjs: typeof import('pngjs') };
let codecs: Promise<Codecs> | null = null;

/**
 * The image codecs, loaded on first use: pngjs needs Node's streams and fails to load in browsers, so importing
 * @distillery/data must not load it (browser apps use the in-memory datasets and never decode files).
 */
function loadCodecs(): Promise<Codecs> {
  codecs ??= Promise.all([import('jpeg-js'), import('pngjs')]).then(([j, p]) => ({
    jpeg: ((j as { default?: Codecs['jpeg'] }).default ?? j) as Codecs['jpeg'],
    pngjs: ((p as { default?: Codecs['pngjs'] }).default ?? p) as Codecs['pngjs'],
  }));
  return codecs;
}

/**
 * Decodes a PNG (pngjs) or JPEG (jpeg-js) file to `channels` (3 RGB, default, or 1 grey = ITU-R 601 luma rounded)
 * bytes, choosing the decoder from the file signature. `source` names the file in errors.
 */
export async function decodeImage(bytes: Uint8Array, source = 'image', channels: 1 | 3 = 3): Promise<DecodedImage> {
  if (!(bytes instanceof Uint8Array)) {
    throw invalid('INVALID_ARGUMENT', 'bytes', 'a Uint8Array of PNG or JPEG file contents', describeValue(bytes));
  }
  checkEnum(channels, 'channels', [1, 3]);
  const { jpeg, pngjs } = await loadCodecs();
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
      width = png.width;
      height = png.height;
    } else if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
      rgba = img.data;
      width = img.width;
      height = img.height;
    } else {
      throw new Error('not a PNG or JPEG file');
    }
  } catch (error) {
    throw invalid('FORMAT', source, 'a readable PNG or JPEG image', (error as Error).message);
  }
  const data = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) {
    const r = rgba[4 * p]!;
    const g = rgba[4 * p + 1]!;
    const b = rgba[4 * p + 2]!;
    if (channels === 3) {
      data[3 * p] = r;
      data[3 * p + 1] = g;
      data[3 * p + 2] = b;
    } else data[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  return { width, height, data, channels };
}

/** Nearest-neighbour resize of HWC bytes (used only when `size` is given). */
function resizeNearest(img: DecodedImage, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * img.channels);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / w));
      for (let c = 0; c < img.channels; c++) {
        out[(y * w + x) * img.channels + c] = img.data[(sy * img.width + sx) * img.channels + c]!;
      }
    }
  }
  return out;
}

export interface ImageFolderOptions {
  /** Resize every image to [H, W] (nearest); without it all images must share one size. */
  size?: [number, number];
  /** 3 (RGB, default) or 1 (grey). */
  channels?: 1 | 3;
  /** File extensions to read (default png, jpg, jpeg). */
  extensions?: string[];
}

/**
 * Loads a torchvision-style ImageFolder in Node: `root/<class>/<image>`, classes sorted by name and numbered in that
 * order, images sorted by path, PNG/JPEG decoded with pngjs / jpeg-js, pixels scaled by 1/255. Unreadable files and
 * size mismatches throw DistilleryErrors naming the file.
 */
export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<InMemoryDataset> {
  const {
    channels = 3,
    size,
    extensions = ['png', 'jpg', 'jpeg'],
  } = checkOptions<ImageFolderOptions>(options, { size: true, channels: [1, 3], extensions: true });
  if (typeof root !== 'string' || root === '') {
    throw invalid('INVALID_ARGUMENT', 'root', 'an image folder path', describeValue(root));
  }
  if (size !== undefined && (!Array.isArray(size) || size.length !== 2)) {
    throw invalid('INVALID_ARGUMENT', 'options.size', '[height, width]', describeValue(size));
  }
  if (!Array.isArray(extensions) || extensions.length === 0 || extensions.some((e) => typeof e !== 'string' || !e)) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.extensions',
      'a non-empty array of file extensions',
      describeValue(extensions),
    );
  }
  let H = 0;
  let W = 0;
  if (size) {
    H = checkNumber(size[0], 'options.size[0]', { min: 1, integer: true });
    W = checkNumber(size[1], 'options.size[1]', { min: 1, integer: true });
  }
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const exts = extensions.map((e) => e.toLowerCase().replace(/^\./, ''));
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch (error) {
    throw invalid('IO', root, 'a readable image folder', (error as Error).message);
  }
  const classNames = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (classNames.length === 0) throw invalid('EMPTY_INPUT', root, 'one sub-folder per class', 'no sub-folders');
  const items: { file: string; label: number }[] = [];
  for (const [label, name] of classNames.entries()) {
    const dir = nodePath.join(root, name);
    const files = (await fs.readdir(dir)).filter((f) => exts.includes(f.split('.').pop()!.toLowerCase())).sort();
    // An empty class folder would be a class with no samples (a silent hole in the label space): refuse it.
    if (files.length === 0) {
      throw invalid(
        'EMPTY_INPUT',
        dir,
        `at least one image (${exts.join(', ')}) in class folder "${name}"`,
        'an empty class folder; remove it or add images',
      );
    }
    for (const f of files) items.push({ file: nodePath.join(dir, f), label });
  }
  const chunks: Uint8Array[] = [];
  for (const { file } of items) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.readFile(file));
    } catch (error) {
      throw invalid('IO', file, 'a readable image file', (error as Error).message);
    }
    const img = await decodeImage(bytes, file, channels);
    if (H === 0) {
      H = img.height;
      W = img.width;
    }
    if (size) chunks.push(resizeNearest(img, H, W));
    else if (img.height !== H || img.width !== W) {
      throw invalid(
        'SHAPE_MISMATCH',
        file,
        `${H}×${W} like the first image (or pass options.size)`,
        `${img.height}×${img.width}`,
      );
    } else chunks.push(img.data);
  }
  const pixels = new Uint8Array(items.length * H * W * channels);
  chunks.forEach((c, i) => {
    pixels.set(c, i * H * W * channels);
  });
  return new InMemoryDataset({
    pixels,
    labels: items.map((it) => it.label),
    imageShape: [H, W, channels],
    classNames,
    scale: 1 / 255,
  });
}
