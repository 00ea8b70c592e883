import { entryToFloat32, invalid, readSafetensorsFile, tf, writeSafetensorsFile } from '@distillery/tensor';

const FILE = 'teacher-logits.safetensors';
const FORMAT = 'distillery-teacher-logits/1';
/** Cached rows compared with a fresh teacher forward when a disk cache is opened (a different teacher or data fails). */
export const CACHE_PROBE_ROWS = 4;

/**
 * Teacher logits keyed by dataset index: rows are filled from the teacher's outputs (read back asynchronously, after
 * the step that used them), served as one tensor when every row of a batch is known. On disk (Node) the rows live in
 * `<dir>/teacher-logits.safetensors`, written atomically at each epoch end while rows are added.
 */
export class TeacherLogitCache {
  readonly rows: Float32Array;
  readonly filled: Uint8Array;
  private pending: { indices: Int32Array; logits: tf.Tensor2D }[] = [];
  private dirty = false;
  hits = 0;
  misses = 0;

  constructor(
    readonly numExamples: number,
    readonly numClasses: number,
    readonly dir?: string,
  ) {
    this.rows = new Float32Array(numExamples * numClasses);
    this.filled = new Uint8Array(numExamples);
  }

  /** The cached logits of `indices` as a new tensor, or null when any row is missing. */
  lookup(indices: ArrayLike<number>): tf.Tensor2D | null {
    const c = this.numClasses;
    for (let k = 0; k < indices.length; k++) {
      if (!this.filled[indices[k]!]) {
        this.misses++;
        return null;
      }
    }
    this.hits++;
    const out = new Float32Array(indices.length * c);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      out.set(this.rows.subarray(i * c, (i + 1) * c), k * c);
    }
    return tf.tensor2d(out, [indices.length, c]);
  }

  /** Keeps a copy of freshly computed logits, stored by {@link flush} (an asynchronous read, never a sync one). */
  hold(indices: ArrayLike<number>, logits: tf.Tensor2D): void {
    this.pending.push({ indices: Int32Array.from(indices), logits: tf.clone(logits) });
  }

  async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    const c = this.numClasses;
    for (const { indices, logits } of pending) {
      try {
        const values = await logits.data();
        indices.forEach((i, k) => {
          this.rows.set(values.subarray(k * c, (k + 1) * c) as Float32Array, i * c);
          this.filled[i] = 1;
        });
        this.dirty = true;
      } finally {
        logits.dispose();
      }
    }
  }

  /** Frees held copies (the run stopped). */
  discard(): void {
    for (const p of this.pending) p.logits.dispose();
    this.pending = [];
  }

  get size(): number {
    let n = 0;
    for (const f of this.filled) n += f;
    return n;
  }

  /** Writes the rows to `<dir>` when there is a dir and something new (Node). */
  async save(): Promise<void> {
    await this.flush();
    if (!this.dir || !this.dirty) return;
    const { mkdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(this.dir, { recursive: true });
    await writeSafetensorsFile(
      join(this.dir, FILE),
      {
        logits: { shape: [this.numExamples, this.numClasses], data: this.rows },
        filled: { shape: [this.numExamples], data: Float32Array.from(this.filled) },
      },
      { format: FORMAT, numExamples: String(this.numExamples), numClasses: String(this.numClasses) },
    );
    this.dirty = false;
  }

  /**
   * Opens the cache of `dir` (Node), or an empty one when there is no file yet. A file for another dataset size or
   * class count, or whose first rows differ from `probe` (the teacher's logits of indices 0…k−1, computed now), is
   * refused with a DistilleryError naming the file: it was written by another teacher or for other data.
   */
  static async open(
    dir: string,
    numExamples: number,
    numClasses: number,
    probe: () => Promise<{ indices: number[]; values: Float32Array }>,
  ): Promise<TeacherLogitCache> {
    const cache = new TeacherLogitCache(numExamples, numClasses, dir);
    const { join } = await import('node:path');
    const { access } = await import('node:fs/promises');
    const path = join(dir, FILE);
    try {
      await access(path);
    } catch {
      return cache;
    }
    const file = await readSafetensorsFile(path);
    const stale = (why: string) =>
      invalid(
        'INVALID_ARGUMENT',
        'options.cacheTeacher.dir',
        'a teacher-logit cache written by this teacher for this training set (or an empty directory)',
        `${path}: ${why}; delete it to recompute`,
      );
    if (file.metadata.format !== FORMAT) throw stale(`format ${JSON.stringify(file.metadata.format)}`);
    const n = Number(file.metadata.numExamples);
    const c = Number(file.metadata.numClasses);
    if (n !== numExamples || c !== numClasses) {
      throw stale(`it holds ${n} examples × ${c} classes, the run has ${numExamples} × ${numClasses}`);
    }
    const logits = file.tensors.get('logits');
    const filled = file.tensors.get('filled');
    if (!logits || !filled) throw stale('the logits or filled tensor is missing');
    cache.rows.set(entryToFloat32(logits));
    const marks = entryToFloat32(filled);
    for (let i = 0; i < n; i++) cache.filled[i] = marks[i] ? 1 : 0;
    const { indices, values } = await probe();
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (!cache.filled[i]) continue;
      for (let j = 0; j < c; j++) {
        const a = cache.rows[i * c + j]!;
        const b = values[k * c + j]!;
        if (Math.abs(a - b) > 1e-4 * Math.max(1, Math.abs(b))) {
          throw stale(`the cached logits of example ${i} differ from the teacher's (${a} vs ${b})`);
        }
      }
    }
    return cache;
  }
}
