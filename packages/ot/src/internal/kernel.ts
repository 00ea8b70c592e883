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

export class HostKernel implements LogKernel {
  constructor(
    readonly L: Float64Array,
    readonly n: number,
    readonly k: number,
  ) {}

  rowLse(v: Float64Array): Float64Array {
    const { L, n, k } = this;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const base = i * k;
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) {
        const t = L[base + j]! + v[j]!;
        if (t > m) m = t;
      }
      if (m === Number.NEGATIVE_INFINITY) {
        out[i] = m;
        continue;
      }
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(L[base + j]! + v[j]! - m);
      out[i] = m + Math.log(s);
    }
    return out;
  }

  colLse(u: Float64Array): Float64Array {
    const { L, n, k } = this;
    const m = new Float64Array(k).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < n; i++) {
      const ui = u[i]!;
      if (ui === Number.NEGATIVE_INFINITY) continue;
      const base = i * k;
      for (let j = 0; j < k; j++) {
        const t = L[base + j]! + ui;
        if (t > m[j]!) m[j] = t;
      }
    }
    const s = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const ui = u[i]!;
      if (ui === Number.NEGATIVE_INFINITY) continue;
      const base = i * k;
      for (let j = 0; j < k; j++) s[j]! += Math.exp(L[base + j]! + ui - m[j]!);
    }
    for (let j = 0; j < k; j++) s[j] = m[j] === Number.NEGATIVE_INFINITY ? m[j]! : m[j]! + Math.log(s[j]!);
    return s;
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
