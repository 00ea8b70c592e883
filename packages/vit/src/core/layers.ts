import {
  checkNumber,
  checkOptions,
  formatShape,
  fusedGelu,
  fusedLayerNorm,
  invalid,
  type Rng,
  randomNormal,
  randomTruncatedNormal,
  randomUniform,
  tf,
} from '@distillery/tensor';
import type { ParamStore } from './module';

/** `x · W + b` over the last axis; W in tfjs layout `[in, out]`. */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  if (!(x instanceof tf.Tensor) || x.rank < 1)
    throw invalid('INVALID_ARGUMENT', 'x', 'a tensor of rank ≥ 1', String(x));
  const inFeatures = x.shape[x.rank - 1]!;
  if (weight.rank !== 2 || weight.shape[0] !== inFeatures) {
    throw invalid(
      'SHAPE_MISMATCH',
      'x',
      `a last axis of ${weight.shape[0]} features (the weight is [in, out] = ${formatShape(weight.shape)})`,
      `shape ${formatShape(x.shape)}`,
    );
  }
  const outFeatures = weight.shape[1]!;
  const flat = x.rank === 2 ? x : tf.reshape(x, [-1, inFeatures]);
  let y = tf.matMul(flat, weight);
  if (bias) y = tf.add(y, bias);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outFeatures]);
}

/** nn.LayerNorm over the last axis (biased variance, like PyTorch). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  if (!(x instanceof tf.Tensor) || x.rank < 1)
    throw invalid('INVALID_ARGUMENT', 'x', 'a tensor of rank ≥ 1', String(x));
  const d = x.shape[x.rank - 1];
  if (gamma.size !== d || beta.size !== d) {
    throw invalid(
      'SHAPE_MISMATCH',
      'x',
      `a last axis of ${gamma.size} features (the LayerNorm width)`,
      `shape ${formatShape(x.shape)}`,
    );
  }
  checkNumber(eps, 'eps', { min: 0, minExclusive: true });
  // One fused kernel each way on cpu and wasm (dx, dγ, dβ in one backward pass); the composed ops elsewhere.
  return fusedLayerNorm(x, gamma, beta, eps);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (nn.GELU default; not the tanh approximation). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return fusedGelu(x); // one fused kernel each way on cpu and wasm, the composed ops elsewhere
}

/**
 * Stochastic depth (timm `drop_path`): each sample's residual branch is zeroed with probability `rate` and the
 * kept ones are scaled by 1/(1−rate). The per-sample mask is drawn from `rng` on the host.
 */
export function dropPath(x: tf.Tensor, rate: number, training: boolean, rng: Rng | undefined): tf.Tensor {
  checkNumber(rate, 'rate', { min: 0, max: 1 });
  if (!training || rate <= 0 || !rng) return x;
  const keep = 1 - rate;
  const batch = x.shape[0]!;
  const mask = new Float32Array(batch);
  for (let i = 0; i < batch; i++) mask[i] = rng.uniform() < keep ? 1 / keep : 0;
  const shape = [batch, ...new Array(x.rank - 1).fill(1)];
  return tf.mul(x, tf.tensor(mask, shape));
}

/** Element-wise dropout with a host-drawn mask (inverted scaling), training only. */
export function drop(x: tf.Tensor, rate: number, training: boolean, rng: Rng): tf.Tensor {
  checkNumber(rate, 'rate', { min: 0, max: 1 });
  if (rate === 1 && training) throw invalid('OUT_OF_RANGE', 'rate', 'a number < 1 (1 would divide by 0)', '1');
  if (!training || rate <= 0) return x;
  const keep = 1 - rate;
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < keep ? 1 / keep : 0;
  return tf.mul(x, tf.tensor(mask, x.shape));
}

/** Initialisers, each returning a tensor in the requested (tfjs) shape. */
export const init = {
  /** timm `trunc_normal_(std)`: cut at ±2 absolute (effectively untruncated for small std). */
  truncNormal: (shape: number[], rng: Rng, std = 0.02) => randomTruncatedNormal(shape, rng, { std, a: -2, b: 2 }),
  normal: (shape: number[], rng: Rng, std: number) => randomNormal(shape, rng, { std }),
  /** PyTorch default for Linear/Conv weights and biases: U(−1/√fan_in, 1/√fan_in) (kaiming_uniform a=√5). */
  torchDefault: (shape: number[], rng: Rng, fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    return randomUniform(shape, rng, { min: -bound, max: bound });
  },
  /** kaiming_normal_(mode) with ReLU gain √2. */
  kaimingNormal: (shape: number[], rng: Rng, fan: number) => randomNormal(shape, rng, { std: Math.sqrt(2 / fan) }),
  zeros: (shape: number[]) => tf.zeros(shape),
  ones: (shape: number[]) => tf.ones(shape),
  fill: (shape: number[], value: number) => tf.fill(shape, value),
};

export type LinearInit = 'trunc_normal' | 'torch_default' | 'kaiming_normal';

/** Registers `<name>.weight` ([in, out] here, [out, in] in PyTorch) and `<name>.bias`. */
export function addLinear(
  store: ParamStore,
  name: string,
  inFeatures: number,
  outFeatures: number,
  rng: Rng,
  options: { bias?: boolean; init?: LinearInit } = {},
): { weight: tf.Variable; bias?: tf.Variable } {
  checkOptions<{ bias?: boolean; init?: LinearInit }>(options, {
    bias: true,
    init: ['trunc_normal', 'torch_default', 'kaiming_normal'],
  });
  const mode = options.init ?? 'trunc_normal';
  const w =
    mode === 'trunc_normal'
      ? init.truncNormal([inFeatures, outFeatures], rng)
      : mode === 'kaiming_normal'
        ? init.kaimingNormal([inFeatures, outFeatures], rng, inFeatures)
        : init.torchDefault([inFeatures, outFeatures], rng, inFeatures);
  const weight = store.add(`${name}.weight`, w, 'linear');
  if (options.bias === false) return { weight };
  // timm zeroes Linear biases; the CNN references (kaiming_normal weights only) keep PyTorch's default bias.
  const b = mode === 'trunc_normal' ? init.zeros([outFeatures]) : init.torchDefault([outFeatures], rng, inFeatures);
  return { weight, bias: store.add(`${name}.bias`, b, 'plain') };
}

export function addLayerNorm(store: ParamStore, name: string, dim: number): { gamma: tf.Variable; beta: tf.Variable } {
  return {
    gamma: store.add(`${name}.weight`, init.ones([dim])),
    beta: store.add(`${name}.bias`, init.zeros([dim])),
  };
}
