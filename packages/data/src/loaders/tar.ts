import { invalid } from '@distillery/tensor';

/**
 * Reads the regular files of a (ustar / GNU) tar archive into a map path → bytes (views into `bytes`). `source`
 * names the archive in errors.
 */
export function readTar(bytes: Uint8Array, source = 'archive'): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const text = (a: number, b: number) => {
    let s = '';
    for (let i = a; i < b && bytes[i] !== 0; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  };
  let off = 0;
  let longName: string | null = null;
  while (off + 512 <= bytes.length) {
    if (bytes.subarray(off, off + 512).every((v) => v === 0)) break; // end of archive
    const name = text(off, off + 100);
    const sizeText = text(off + 124, off + 136).trim();
    const size = Number.parseInt(sizeText || '0', 8);
    const type = String.fromCharCode(bytes[off + 156] || 48);
    const prefix = text(off + 345, off + 500);
    if (!Number.isFinite(size) || size < 0) throw invalid('FORMAT', source, 'a tar archive', `a bad header at ${off}`);
    const start = off + 512;
    if (start + size > bytes.length) throw invalid('FORMAT', source, 'a complete tar archive', 'a truncated entry');
    const body = bytes.subarray(start, start + size);
    if (type === 'L') longName = text(start, start + size);
    else if (type === '0' || type === '\0' || type === '7') {
      files.set(longName ?? (prefix ? `${prefix}/${name}` : name), body);
      longName = null;
    } else longName = null;
    off = start + Math.ceil(size / 512) * 512;
  }
  if (files.size === 0) throw invalid('FORMAT', source, 'a tar archive with files', 'no files');
  return files;
}
