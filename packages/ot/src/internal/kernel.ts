import { tf } from '@distillery/tensor';

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
  /** exp(L_ij + u_i + v_j) · scale as a float32 [N, K] tensor. */
  plan(u: Float64Array, v: Float64Array, scale?: number): tf.Tensor2D;
  /** exp(L_ij + u_i + v_j) · scale in float64 on the host. */
  planHost(u: Float64Array, v: Float64Array, scale?: number): Float64Array;
  dispose(): void;
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
 * so an iteration costs two N×K multiply-adds instead of two N×K exps. When the scalings e^{v − ḡ} leave
 * [1e-100, 1e100] the cache is rebuilt around the latest potentials (Schmitzer's absorption, as POT's
 * `sinkhorn_stabilized` and SPPOT's `_stable` solver do), and any row/column whose scaled sum falls outside the
 * normal float64 range is recomputed by a direct log-sum-exp, so the result never under/overflows.
 */
export class HostKernel implements LogKernel {
  private kt: Float64Array | null = null;
  private fRef: Float64Array;
  private gRef: Float64Array;
  private lastU: Float64Array | null = null;
  private lastV: Float64Array | null = null;

  constructor(
    readonly L: Float64Array,
    readonly n: number,
    readonly k: number,
  ) {
    this.fRef = new Float64Array(n);
    this.gRef = new Float64Array(k);
  }

  private rebuild(f: Float64Array | null, g: Float64Array | null): void {
    const { L, n, k } = this;
    const finite = (x: number) => (Number.isFinite(x) ? x : 0);
    if (f) this.fRef = f.map(finite);
    if (g) this.gRef = g.map(finite);
    const kt = this.kt ?? new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const fi = this.fRef[i]!;
      const base = i * k;
      for (let j = 0; j < k; j++) kt[base + j] = Math.exp(L[base + j]! + fi + this.gRef[j]!);
    }
    this.kt = kt;
  }

  private scalings(x: Float64Array, ref: Float64Array): Float64Array | null {
    const e = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i] === Number.NEGATIVE_INFINITY ? 0 : Math.exp(x[i]! - ref[i]!);
      if (v > 1e100 || (v < 1e-100 && v !== 0 && x[i] !== Number.NEGATIVE_INFINITY) || Number.isNaN(v)) return null;
      e[i] = v;
    }
    return e;
  }

  rowLse(v: Float64Array): Float64Array {
    const { n, k } = this;
    if (!this.kt) this.rebuild(this.lastU, v);
    let e = this.scalings(v, this.gRef);
    if (!e) {
      this.rebuild(this.lastU, v);
      e = this.scalings(v, this.gRef)!;
    }
    this.lastV = v;
    const kt = this.kt!;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const base = i * k;
      let s = 0;
      for (let j = 0; j < k; j++) s += kt[base + j]! * e[j]!;
      out[i] = s > 1e-250 && s < 1e250 ? Math.log(s) - this.fRef[i]! : this.exactRow(i, v);
    }
    return out;
  }

  colLse(u: Float64Array): Float64Array {
    const { n, k } = this;
    if (!this.kt) this.rebuild(u, this.lastV);
    let e = this.scalings(u, this.fRef);
    if (!e) {
      this.rebuild(u, this.lastV);
      e = this.scalings(u, this.fRef)!;
    }
    this.lastU = u;
    const kt = this.kt!;
    const s = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const ei = e[i]!;
      if (ei === 0) continue;
      const base = i * k;
      for (let j = 0; j < k; j++) s[j]! += kt[base + j]! * ei;
    }
    const out = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      out[j] = s[j]! > 1e-250 && s[j]! < 1e250 ? Math.log(s[j]!) - this.gRef[j]! : this.exactCol(j, u);
    }
    return out;
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

  planHost(u: Float64Array, v: Float64Array, scale = 1): Float64Array {
    const { L, n, k } = this;
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const base = i * k;
      for (let j = 0; j < k; j++) out[base + j] = scale * Math.exp(L[base + j]! + u[i]! + v[j]!);
    }
    return out;
  }

  plan(u: Float64Array, v: Float64Array, scale = 1): tf.Tensor2D {
    return tf.tensor2d(Float32Array.from(this.planHost(u, v, scale)), [this.n, this.k]);
  }

  dispose(): void {}
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
    this.L = L instanceof tf.Tensor ? L : tf.tensor2d(Float32Array.from(L), [n, k]);
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

  plan(u: Float64Array, v: Float64Array, scale = 1): tf.Tensor2D {
    return tf.tidy(() =>
      tf.mul(
        tf.exp(tf.add(tf.add(this.L, tf.tensor2d(toFloat32(u), [this.n, 1])), tf.tensor2d(toFloat32(v), [1, this.k]))),
        scale,
      ),
    );
  }

  planHost(u: Float64Array, v: Float64Array, scale = 1): Float64Array {
    const p = this.plan(u, v, scale);
    const out = Float64Array.from(p.dataSync());
    p.dispose();
    return out;
  }

  dispose(): void {
    this.L.dispose();
  }
}

/** Builds the kernel for L = −cost/reg (+ optional extra column of log-kernel values). */
export function makeKernel(L: Float64Array, n: number, k: number, engine: OtEngine): LogKernel {
  return engine === 'backend' ? new BackendKernel(L, n, k) : new HostKernel(L, n, k);
}
