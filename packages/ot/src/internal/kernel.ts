import { tf } from '@distillery/tensor';
import { assertFiniteValues } from './validate';
import { createArena, releaseArena, type SweepArena } from './wasm-sweep';

/**
 * Where the N×K log-kernel L lives and how its log-sum-exps are taken. Every solver in this package is written
 * against this interface with its potentials (length-N and length-K vectors) kept on the host in float64:
 * - `'float64'` (default): L is a host Float64Array; the solve is bit-for-bit the float64 reference algorithm,
 *   independent of the tfjs backend (cpu, wasm, webgpu give identical results).
 * - `'backend'`: L is a float32 tensor on the active tfjs backend; the two N×K log-sum-exps per iteration run
 *   there (useful on WebGPU for large N×K). Plans agree with float64 to ~1e-5; iteration counts can differ when the
 *   stopping tolerance is near float32 resolution.
 */
export type OtEngine = 'float64' | 'backend';

export interface LogKernel {
  readonly n: number;
  readonly k: number;
  /** r_i = LSE_j(L_ij + v_j). */
  rowLse(v: Float64Array): Float64Array;
  /** c_j = LSE_i(L_ij + u_i). */
  colLse(u: Float64Array): Float64Array;
  /**
   * u = logTarget − rowLse(v) and c = colLse(u): one Sinkhorn half-step pair, fused into one pass on the host.
   * `u()` materialises the row potentials (skipped by loops that only need c).
   */
  rowColLse(v: Float64Array, logTarget: Float64Array): { u: () => Float64Array; c: Float64Array };
  /** exp(L_ij + u_i + v_j) · scale as a float32 [N, K] tensor. */
  plan(u: Float64Array, v: Float64Array, scale?: number): tf.Tensor2D;
  /** exp(L_ij + u_i + v_j) · scale in float64 on the host, for the first `columns` columns (default all). */
  planHost(u: Float64Array, v: Float64Array, scale?: number, columns?: number): Float64Array;
  dispose(): void;
}

/** u_i = log a_i + f̄_i: row potentials back from their scalings around f̄ (a zero scaling is a zero-mass row). */
function potentialsFromScalings(a: Float64Array, fRef: Float64Array): Float64Array {
  return a.map((ai, i) => (ai === 0 ? Number.NEGATIVE_INFINITY : Math.log(ai) + fRef[i]!));
}

function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (x[i]! - x[i]! !== 0) return false;
  return true;
}

/** log-sum-exp of a host vector (−∞ entries allowed). */
export function lseVector(x: ArrayLike<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (m === Number.NEGATIVE_INFINITY || m === Number.POSITIVE_INFINITY) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}

/**
 * Host float64 kernel. The log-sum-exps are exact, but computed as scaled matrix-vector products on a cached
 * K̃_ij = exp(L_ij + f̄_i + ḡ_j) around reference potentials (f̄, ḡ):
 *
 *     LSE_j(L_ij + v_j) = log Σ_j K̃_ij·e^{v_j − ḡ_j} − f̄_i
 *
 * so an iteration costs N×K multiply-adds instead of N×K exps, run by a WebAssembly SIMD module where available
 * (./wasm-sweep.ts), and `rowColLse` fuses an iteration's two products into one pass over K̃. When the scalings
 * e^{v − ḡ} leave [1e-100, 1e100] the cache is rebuilt around the latest potentials (Schmitzer's absorption, as
 * POT's `sinkhorn_stabilized` and SPPOT's `_stable` solver do), and any row/column whose scaled sum falls outside
 * the normal float64 range is recomputed by a direct log-sum-exp, so the result never under/overflows.
 */
export class HostKernel implements LogKernel {
  private readonly arena: SweepArena;
  private built = false;
  private fRef: Float64Array;
  private gRef: Float64Array;
  private lastUValue: Float64Array | null = null;
  /** The row potentials of the last fused pass, kept as scalings until someone needs them (saves N logs a pass). */
  private pendingU: { a: Float64Array; fRef: Float64Array; generation: number } | null = null;
  private lastV: Float64Array | null = null;
  private targetsFor: Float64Array | null = null;
  private readonly snapshots: [Float64Array, Float64Array];
  private generation = 0;
  /** L holds raw values still to be multiplied by this (done by the first kernel build, in the same pass). */
  private pendingScale = 1;

  /** The log-kernel, held in the arena (a copy of the caller's). */
  readonly L: Float64Array;

  /** `L` null: the caller fills `this.L` before the first use. */
  constructor(
    L: Float64Array | null,
    readonly n: number,
    readonly k: number,
  ) {
    this.fRef = new Float64Array(n);
    this.gRef = new Float64Array(k);
    this.arena = createArena(n, k);
    this.snapshots = [new Float64Array(n), new Float64Array(n)];
    if (L) this.arena.L.set(L);
    this.L = this.arena.L;
  }

  /** The kernel of L = scale·values (e.g. −cost/reg): the scaling happens in the first build's exp pass. */
  static fromScaled(values: ArrayLike<number>, scale: number, n: number, k: number): HostKernel {
    const kernel = new HostKernel(null, n, k);
    kernel.arena.L.set(values);
    kernel.pendingScale = scale;
    return kernel;
  }

  /**
   * The P²OT log-kernel L = [(z_ij − LSE_j z_ij)/ε | 0] (−C/ε with C = −log softmax(z), plus the virtual
   * cluster's zero column) built in place: the softmax's exps and row sums run in the arena's SIMD loops, and
   * no separate cost matrix is allocated.
   */
  static fromLogits(z: ArrayLike<number>, n: number, k: number, epsilon: number): HostKernel {
    const k1 = k + 1;
    const kernel = new HostKernel(null, n, k1);
    const { L, f, g, e, s } = kernel.arena;
    for (let i = 0; i < n; i++) {
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) {
        const x = z[i * k + j]!;
        L[i * k1 + j] = x;
        if (x > m) m = x;
      }
      L[i * k1 + k] = Number.NEGATIVE_INFINITY; // out of the softmax
      f[i] = -m;
    }
    g.fill(0);
    kernel.arena.exp();
    e.fill(0);
    e.fill(1, 0, k1);
    kernel.arena.rows();
    for (let i = 0; i < n; i++) {
      const lse = -f[i]! + Math.log(s[i]!);
      for (let j = 0; j < k; j++) L[i * k1 + j] = (L[i * k1 + j]! - lse) / epsilon;
      L[i * k1 + k] = 0;
    }
    return kernel;
  }

  /** Whether every entry of L is finite (before the pending scale). */
  valuesFinite(): boolean {
    return this.arena.allFinite();
  }

  private get lastU(): Float64Array | null {
    if (this.pendingU) {
      const { a, fRef } = this.pendingU;
      this.lastUValue = potentialsFromScalings(a, fRef);
      this.pendingU = null;
    }
    return this.lastUValue;
  }

  private set lastU(u: Float64Array | null) {
    this.pendingU = null;
    this.lastUValue = u;
  }

  private rebuild(f: Float64Array | null, g: Float64Array | null): void {
    // A −∞ potential (zero mass) gets a reference so low that its cached entries are exp(−708) ≈ 0 (the SIMD exp's
    // clamp), never e^{L + f̄} with a stand-in ḡ = 0 that can overflow to ∞ (∞ · a zero scaling is NaN).
    const finite = (x: number) => (Number.isFinite(x) ? x : x === Number.NEGATIVE_INFINITY ? -1e300 : 0);
    if (f) this.fRef = f.map(finite);
    if (g) this.gRef = g.map(finite);
    this.arena.f.set(this.fRef);
    this.arena.g.set(this.gRef);
    this.arena.exp(this.pendingScale);
    this.pendingScale = 1;
    this.built = true;
  }

  /** e^{x − ref} into `out`; false when one leaves [1e-100, 1e100] (the cache must be rebuilt around x). */
  private scalings(x: Float64Array, ref: Float64Array, out: Float64Array): boolean {
    for (let i = 0; i < x.length; i++) {
      const v = x[i] === Number.NEGATIVE_INFINITY ? 0 : Math.exp(x[i]! - ref[i]!);
      if (v > 1e100 || (v < 1e-100 && v !== 0 && x[i] !== Number.NEGATIVE_INFINITY) || Number.isNaN(v)) return false;
      out[i] = v;
    }
    return true;
  }

  /** Column scalings of v into the arena (rebuilding K̃ around v when they leave the safe range). */
  private loadColumnScalings(v: Float64Array): void {
    if (!this.built) this.rebuild(this.lastU, v);
    if (!this.scalings(v, this.gRef, this.arena.e)) {
      this.rebuild(this.lastU, v);
      this.scalings(v, this.gRef, this.arena.e);
    }
    this.lastV = v;
  }

  private rowsFromSums(v: Float64Array, out: Float64Array): boolean {
    const { s } = this.arena;
    let exact = true;
    for (let i = 0; i < this.n; i++) {
      const si = s[i]!;
      if (si > 1e-250 && si < 1e250) out[i] = Math.log(si) - this.fRef[i]!;
      else {
        out[i] = this.exactRow(i, v);
        exact = false;
      }
    }
    return exact;
  }

  /** Column LSEs from the arena's sums; a sum outside the normal range is taken exactly from u (or, with u null, reported as false). */
  private colsFromSums(u: Float64Array | null, out: Float64Array): boolean {
    const { col } = this.arena;
    for (let j = 0; j < this.k; j++) {
      const cj = col[j]!;
      if (cj > 1e-250 && cj < 1e250) out[j] = Math.log(cj) - this.gRef[j]!;
      else if (u) out[j] = this.exactCol(j, u);
      else return false;
    }
    return true;
  }

  rowLse(v: Float64Array): Float64Array {
    this.loadColumnScalings(v);
    this.arena.rows();
    const out = new Float64Array(this.n);
    this.rowsFromSums(v, out);
    return out;
  }

  colLse(u: Float64Array): Float64Array {
    if (!this.built) this.rebuild(u, this.lastV);
    if (!this.scalings(u, this.fRef, this.arena.a)) {
      this.rebuild(u, this.lastV);
      this.scalings(u, this.fRef, this.arena.a);
    }
    this.lastU = u;
    this.arena.cols();
    const out = new Float64Array(this.k);
    this.colsFromSums(u, out);
    return out;
  }

  /**
   * One fused pass: r = rowLse(v), u = logTarget − r, c = colLse(u). The new row scalings are t_i / s_i
   * (t = e^{logTarget}), so the column sums need no exp and are accumulated while each row is in cache; u is only
   * materialised (N logs) when asked for. Any scaling or sum outside the safe range sends the column half back
   * through `colLse` (absorption).
   */
  rowColLse(v: Float64Array, logTarget: Float64Array): { u: () => Float64Array; c: Float64Array } {
    const { n, k, arena } = this;
    this.loadColumnScalings(v);
    if (this.targetsFor !== logTarget) {
      for (let i = 0; i < n; i++) arena.t[i] = Math.exp(logTarget[i]!);
      this.targetsFor = logTarget;
    }
    arena.sweep();
    const { a, t, stats } = arena;
    // Every row in range (the usual case) is read off the sweep's min/max; otherwise row by row, where a zero
    // scaling is fine for a zero-mass row.
    let fused = stats[0]! > 1e-250 && stats[1]! < 1e250 && stats[2]! >= 1e-100 && stats[3]! <= 1e100;
    if (!fused && stats[0]! > 1e-250 && stats[1]! < 1e250) {
      fused = true;
      for (let i = 0; i < n && fused; i++) {
        const ai = a[i]!;
        if (ai === 0) fused = logTarget[i] === Number.NEGATIVE_INFINITY;
        else fused = ai >= 1e-100 && ai <= 1e100 && t[i] !== 0;
      }
    }
    if (fused) {
      // Snapshot the scalings into one of two reused buffers: u is materialised lazily from them.
      const snapshot = this.snapshots[this.generation++ % 2]!;
      snapshot.set(a.subarray(0, n));
      const pending = { a: snapshot, fRef: this.fRef, generation: this.generation };
      this.pendingU = pending;
      const c = new Float64Array(k);
      const cached = this.colsFromSums(null, c);
      let u: Float64Array | null = null;
      const rows = () => {
        if (!u) {
          // Its buffer is reused two passes later: only the latest two passes' u can still be read.
          if (this.generation - pending.generation >= 2) throw new Error('internal: stale Sinkhorn row potentials');
          u = potentialsFromScalings(pending.a, pending.fRef);
        }
        return u;
      };
      return { u: rows, c: cached ? c : this.colLse(rows()) };
    }
    const r = new Float64Array(n);
    this.rowsFromSums(v, r);
    const u = logTarget.map((x, i) => x - r[i]!);
    return { u: () => u, c: this.colLse(u) };
  }

  private exactRow(i: number, v: Float64Array): number {
    const { L, k } = this;
    const base = i * k;
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) m = Math.max(m, L[base + j]! + v[j]!);
    if (m === Number.NEGATIVE_INFINITY) return m;
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(L[base + j]! + v[j]! - m);
    return m + Math.log(s);
  }

  private exactCol(j: number, u: Float64Array): number {
    const { L, n, k } = this;
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) m = Math.max(m, L[i * k + j]! + u[i]!);
    if (m === Number.NEGATIVE_INFINITY) return m;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(L[i * k + j]! + u[i]! - m);
    return m + Math.log(s);
  }

  /**
   * exp(L_ij + u_i + v_j)·scale. From the cache as K̃_ij·e^{u_i − f̄_i}·e^{v_j − ḡ_j} when the scalings are in
   * [1e-100, 1e100] (a few ulps from the direct exp; entries whose cached value underflowed are then below 1e-90,
   * and come out as 0), else directly.
   */
  planHost(u: Float64Array, v: Float64Array, scale = 1, columns = this.k): Float64Array {
    const { n } = this;
    const out = new Float64Array(n * columns);
    if (!this.planFromCache(u, v, scale)) return this.directPlan(u, v, scale, columns, out);
    this.arena.scale(); // the plan, in place of the cache
    const { kt, stride } = this.arena;
    if (stride === columns) out.set(kt.subarray(0, n * columns));
    else for (let i = 0; i < n; i++) out.set(kt.subarray(i * stride, i * stride + columns), i * columns);
    // A cached entry that overflowed (K̃ built around potentials far from these) is ∞ or ∞·0 = NaN: go direct.
    return allFinite(out) ? out : this.directPlan(u, v, scale, columns, out);
  }

  /** The same plan as a float32 tensor (rounded to float32 in the SIMD pass that forms it). */
  plan(u: Float64Array, v: Float64Array, scale = 1): tf.Tensor2D {
    const { n, k } = this;
    let values = this.planFromCache(u, v, scale) ? this.arena.planF32(k) : null;
    if (!values || !allFinite(values)) values = this.directPlan(u, v, scale, k, new Float32Array(n * k));
    return tf.tensor2d(values, [n, k]);
  }

  /**
   * Loads the plan's row and column scalings (e_j·scale) into the arena when the cache can form the plan, which
   * then overwrites the cache; false when it cannot.
   */
  private planFromCache(u: Float64Array, v: Float64Array, scale: number): boolean {
    const { arena } = this;
    if (this.pendingScale !== 1) this.rebuild(null, null); // L is scaled by the first build
    if (!(this.built && this.scalings(u, this.fRef, arena.a) && this.scalings(v, this.gRef, arena.e))) return false;
    for (let j = 0; j < this.k; j++) arena.e[j]! *= scale;
    this.built = false;
    this.targetsFor = null;
    return true;
  }

  private directPlan<T extends Float64Array | Float32Array>(
    u: Float64Array,
    v: Float64Array,
    scale: number,
    columns: number,
    out: T,
  ): T {
    const { L, n, k } = this;
    for (let i = 0; i < n; i++) {
      const base = i * k;
      for (let j = 0; j < columns; j++) out[i * columns + j] = scale * Math.exp(L[base + j]! + u[i]! + v[j]!);
    }
    return out;
  }

  dispose(): void {
    releaseArena(this.arena);
  }
}

const NEG_BIG = -1e30;
/** float32 upload of a potential, −∞ (zero mass) mapped to a finite −1e30 so log-sum-exps never see ∞ − ∞. */
function toFloat32(x: Float64Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] === Number.NEGATIVE_INFINITY ? NEG_BIG : x[i]!;
  return out;
}
function fromFloat32(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! <= NEG_BIG / 2 ? Number.NEGATIVE_INFINITY : x[i]!;
  return out;
}

export class BackendKernel implements LogKernel {
  private readonly L: tf.Tensor2D;
  constructor(
    L: Float64Array | tf.Tensor2D,
    readonly n: number,
    readonly k: number,
  ) {
    this.L = L instanceof tf.Tensor ? L : tf.tensor2d(new Float32Array(L), [n, k]);
  }

  rowLse(v: Float64Array): Float64Array {
    const r = tf.tidy(() => tf.logSumExp(tf.add(this.L, tf.tensor2d(toFloat32(v), [1, this.k])), 1));
    const out = fromFloat32(r.dataSync());
    r.dispose();
    return out;
  }

  colLse(u: Float64Array): Float64Array {
    const r = tf.tidy(() => tf.logSumExp(tf.add(this.L, tf.tensor2d(toFloat32(u), [this.n, 1])), 0));
    const out = fromFloat32(r.dataSync());
    r.dispose();
    return out;
  }

  rowColLse(v: Float64Array, logTarget: Float64Array): { u: () => Float64Array; c: Float64Array } {
    const r = this.rowLse(v);
    const u = logTarget.map((t, i) => t - r[i]!);
    return { u: () => u, c: this.colLse(u) };
  }

  plan(u: Float64Array, v: Float64Array, scale = 1): tf.Tensor2D {
    return tf.tidy(() =>
      tf.mul(
        tf.exp(tf.add(tf.add(this.L, tf.tensor2d(toFloat32(u), [this.n, 1])), tf.tensor2d(toFloat32(v), [1, this.k]))),
        scale,
      ),
    );
  }

  planHost(u: Float64Array, v: Float64Array, scale = 1, columns = this.k): Float64Array {
    const p = this.plan(u, v, scale);
    const all = p.dataSync();
    p.dispose();
    if (columns === this.k) return new Float64Array(all);
    const out = new Float64Array(this.n * columns);
    for (let i = 0; i < this.n; i++) for (let j = 0; j < columns; j++) out[i * columns + j] = all[i * this.k + j]!;
    return out;
  }

  dispose(): void {
    this.L.dispose();
  }
}

/**
 * Builds the kernel of the N×K log-kernel L, given as values or as scale·values (e.g. −cost/reg). With `argument`,
 * the host kernel checks the values are finite (in its SIMD pass, not a JavaScript scan) and throws NON_FINITE
 * naming that argument otherwise.
 */
export function makeKernel(
  source: Float64Array | { values: ArrayLike<number>; scale: number; argument?: string },
  n: number,
  k: number,
  engine: OtEngine,
): LogKernel {
  if (source instanceof Float64Array) {
    return engine === 'backend' ? new BackendKernel(source, n, k) : new HostKernel(source, n, k);
  }
  if (engine === 'backend') {
    const L = new Float64Array(n * k);
    for (let i = 0; i < L.length; i++) L[i] = source.values[i]! * source.scale;
    return new BackendKernel(L, n, k);
  }
  const kernel = HostKernel.fromScaled(source.values, source.scale, n, k);
  if (source.argument !== undefined && !kernel.valuesFinite()) {
    kernel.dispose();
    assertFiniteValues(source.values, k, source.argument);
  }
  return kernel;
}
