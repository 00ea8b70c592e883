import { assertLogits, assertShape, checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';

export interface ScpnetConsistencyLossOptions {
  /** Weight of the prior term (`kl_lambda`; COCO 1, VOC 2, NUS-WIDE 1, CUB 3). Required. */
  klLambda: number;
}

/** Every value of `t` in [0, 1] (host check: targets and masks are constants read back anyway). */
function checkUnit(t: tf.Tensor, name: string): void {
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!(v[i]! >= 0 && v[i]! <= 1))
      throw invalid('OUT_OF_RANGE', name, 'values in [0, 1]', `${v[i]} at flat index ${i}`);
  }
}

/**
 * SCPNet unlabeled loss on the strong view (jameslahm/SCPNet scpnet.py `SCPNetTrainer.consistency_loss`, commit
 * d56341a), sum-reduced:
 *
 *     L_u = −Σ mask·[ŷ·log p_s + (1 − ŷ)·log(1 − p_s)] − klLambda·Σ mask·[r·log p_s + (1 − r)·log(1 − p_s)]
 *     p_s = σ(z_strong),   r = σ(z_weak)·relationᵀ   (prior-propagated soft target, `priorTargets`)
 *
 * `labels`, `mask` from `scpnetPseudoLabels`, `targets` from `scpnetPriorTargets` (constants). log p_s = −softplus(−z)
 * and log(1 − p_s) = −softplus(z), i.e. logSigmoid(±z) (the reference clamps σ at 1e-8, which only differs for
 * |z| > 18.4). tf.logSigmoid itself is avoided: in tfjs 4.22 its gradient fails on any non-leaf input.
 * klLambda: COCO 1, VOC 2, NUS-WIDE 1, CUB 3. Multiply by λ_u = 0.125 when adding to the supervised loss.
 */
export function scpnetConsistencyLoss(
  strongLogits: tf.Tensor,
  labels: tf.Tensor,
  mask: tf.Tensor,
  targets: tf.Tensor,
  options: ScpnetConsistencyLossOptions,
): tf.Scalar {
  if (options === undefined) {
    throw invalid('INVALID_ARGUMENT', 'options', 'an options object with klLambda', describeValue(options));
  }
  const opts = checkOptions<ScpnetConsistencyLossOptions>(options, { klLambda: true });
  const [n, c] = assertLogits(strongLogits, 'strongLogits', 2);
  assertShape(labels, [n, c], 'labels');
  assertShape(mask, [n], 'mask');
  assertShape(targets, [n, c], 'targets');
  checkUnit(labels, 'labels');
  checkUnit(mask, 'mask');
  checkUnit(targets, 'targets');
  const klLambda = checkNumber(opts.klLambda, 'options.klLambda', { min: 0 });
  return tf.tidy(() => {
    const logP = tf.neg(tf.softplus(tf.neg(strongLogits)));
    const logQ = tf.neg(tf.softplus(strongLogits));
    const m = tf.reshape(mask, [n, 1]);
    const bce = (t: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.mul(t, logP), tf.mul(tf.sub(1, t), logQ)), m));
    return tf.sub(tf.neg(bce(labels)), tf.mul(klLambda, bce(targets))) as tf.Scalar;
  });
}

/** r = σ(z_weak)·relationᵀ [N, C] (constant: built from read-back weak logits). */
export function scpnetPriorTargets(weakLogits: tf.Tensor, relation: tf.Tensor): tf.Tensor2D {
  const [n, c] = assertLogits(weakLogits, 'weakLogits', 2);
  assertShape(relation, [c, c], 'relation');
  checkUnit(relation, 'relation');
  return tf.tidy(() => {
    const p = tf.sigmoid(tf.tensor2d(weakLogits.dataSync() as Float32Array, [n, c]));
    return tf.matMul(p, relation as tf.Tensor2D, false, true);
  });
}
