import { type Rng, tf } from '@distillery/tensor';
import { addLayerNorm, addLinear, layerNorm, linear } from '../core/layers';
import type { ParamStore } from '../core/module';

type Lin = { weight: tf.Variable; bias?: tf.Variable };
type Norm = { gamma: tf.Variable; beta: tf.Variable };

/**
 * A meta-token encoder of MetaFG_Meta (dqshuai/MetaFormer models/MetaFG_meta.py L70–95, meta_encoder.py):
 * Linear(metaDim → C) → ReLU → LayerNorm(C) → ResNormLayer(C), with
 * ResNormLayer(x) = x + LN₂(ReLU(W₂ · LN₁(ReLU(W₁ · x)))). LayerNorms use PyTorch's default eps 1e-5.
 * Names: `<name>.0` (Linear), `<name>.2` (LN), `<name>.3.w1|w2|norm_fn1|norm_fn2`.
 */
export class MetaEncoder {
  readonly fc: Lin;
  readonly norm: Norm;
  readonly w1: Lin;
  readonly w2: Lin;
  readonly norm1: Norm;
  readonly norm2: Norm;
  constructor(
    store: ParamStore,
    name: string,
    readonly metaDim: number,
    readonly dim: number,
    rng: Rng,
    readonly eps = 1e-5,
  ) {
    this.fc = addLinear(store, `${name}.0`, metaDim, dim, rng);
    this.norm = addLayerNorm(store, `${name}.2`, dim);
    this.norm1 = addLayerNorm(store, `${name}.3.norm_fn1`, dim);
    this.norm2 = addLayerNorm(store, `${name}.3.norm_fn2`, dim);
    this.w1 = addLinear(store, `${name}.3.w1`, dim, dim, rng);
    this.w2 = addLinear(store, `${name}.3.w2`, dim, dim, rng);
  }

  /** [B, metaDim] → [B, dim] (or [B, T, metaDim] → [B, T, dim] for per-row meta such as word embeddings). */
  apply(meta: tf.Tensor): tf.Tensor {
    const x = layerNorm(tf.relu(linear(meta, this.fc.weight, this.fc.bias)), this.norm.gamma, this.norm.beta, this.eps);
    const y1 = layerNorm(tf.relu(linear(x, this.w1.weight, this.w1.bias)), this.norm1.gamma, this.norm1.beta, this.eps);
    const y2 = layerNorm(
      tf.relu(linear(y1, this.w2.weight, this.w2.bias)),
      this.norm2.gamma,
      this.norm2.beta,
      this.eps,
    );
    return tf.add(x, y2);
  }
}
