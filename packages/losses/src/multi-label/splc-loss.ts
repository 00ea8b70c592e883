import {
  assertDtype,
  assertSameShape,
  checkNumber,
  checkOptions,
  invalid,
  logSigmoid,
  readSyncIfResident,
  stopGradient,
  tf,
} from '@distillery/tensor';
import { type CheckFiniteOption, checkSingleLogits, FINITE_SPEC, finiteCheck } from '../internal/checks';

export interface SplcLossOptions extends CheckFiniteOption {
  /** Current epoch (as the reference's `epoch` argument). Required. */
  epoch: number;
  /** τ, the missing-label threshold on σ(z − margin·y). Default 0.6. */
  tau?: number;
  /** Margin subtracted from the positive logits. Default 1. */
  margin?: number;
  /** Focal exponent γ. Default 2. */
  gamma?: number;
  /** First epoch of the missing-label correction. Default 1. */
  changeEpoch?: number;
}

/**
 * SPLC loss with focal margin (Zhang et al., "Simple and Robust Loss Design for Multi-Label Learning with Missing
 * Labels"), as jameslahm/SCPNet, loss.py `SPLC` computes it for single-positive multi-label training (CVPR 2023):
 *
 *     z̃ = z − margin·y
 *     y ← where(σ(z̃) > τ, 1, y)   if epoch >= changeEpoch        missing-label correction (constant)
 *     p = σ(z̃);  w = ((1 − p)·y + p·(1 − y))^γ                  (not detached, as in the reference)
 *     L = −Σ_{n,c} w · ( y·logσ(z̃) + (1 − y)·logσ(−z̃) )         **sum** reduction
 *
 * @param logits           float32 `[N, C]`
 * @param multiHotTargets  float32 `[N, C]` of 0/1 (observed positives)
 * @returns scalar
 */
export function splcLoss(logits: tf.Tensor2D, multiHotTargets: tf.Tensor2D, options: SplcLossOptions): tf.Scalar {
  const {
    epoch,
    tau = 0.6,
    margin = 1,
    gamma = 2,
    changeEpoch = 1,
    checkFinite,
  } = checkOptions<SplcLossOptions>(options, {
    epoch: true,
    tau: true,
    margin: true,
    gamma: true,
    changeEpoch: true,
    ...FINITE_SPEC,
  });
  checkNumber(epoch, 'options.epoch');
  checkNumber(tau, 'options.tau', { min: 0, max: 1 });
  checkNumber(margin, 'options.margin');
  checkNumber(gamma, 'options.gamma', { min: 0 });
  checkNumber(changeEpoch, 'options.changeEpoch');
  checkSingleLogits(logits);
  checkSingleLogits(multiHotTargets, 'multiHotTargets');
  assertSameShape(logits, multiHotTargets, 'logits', 'multiHotTargets');
  assertDtype(multiHotTargets, ['float32', 'int32', 'bool'], 'multiHotTargets');
  const values = readSyncIfResident(multiHotTargets);
  if (values) {
    const bad = values.findIndex((v) => v !== 0 && v !== 1);
    if (bad >= 0)
      throw invalid('OUT_OF_RANGE', 'multiHotTargets', 'values 0 or 1', `${values[bad]} at flat index ${bad}`);
  }
  finiteCheck(checkFinite, { logits });
  return tf.tidy(() => {
    let y = tf.cast(stopGradient(multiHotTargets), 'float32');
    const shifted = tf.sub(logits, tf.mul(y, margin));
    if (epoch >= changeEpoch) {
      const confident = tf.greater(tf.sigmoid(stopGradient(shifted)), tau);
      y = tf.where(confident, tf.onesLike(y), y);
    }
    const p = tf.sigmoid(shifted);
    const bce = tf.add(tf.mul(y, logSigmoid(shifted)), tf.mul(tf.sub(1, y), logSigmoid(tf.neg(shifted))));
    const loss = tf.neg(bce);
    if (gamma === 0) return tf.sum(loss) as tf.Scalar;
    const pt = tf.add(tf.mul(tf.sub(1, p), y), tf.mul(p, tf.sub(1, y)));
    return tf.sum(tf.mul(loss, tf.pow(pt, gamma))) as tf.Scalar;
  });
}
