import * as tf from '@tensorflow/tfjs-core';
import { checkOptions } from '../options';
import { assertSameShape, assertTensor } from '../validation';

/** The reductions PyTorch's `F.kl_div` offers, plus 'none'. */
export type KlReduction = 'batchmean' | 'sum' | 'mean' | 'none';

export interface KlDivergenceOptions {
  /**
   * 'batchmean' (default): sum / N (first dimension), the mathematically correct KL per sample;
   * 'sum'; 'mean': sum / number of elements (PyTorch's 'mean', used by DeiT's soft distillation); 'none'.
   */
  reduction?: KlReduction;
  /** log(target), when the caller has it from a logSoftmax: exact where the target underflows to 0. */
  targetLogProbs?: tf.Tensor;
}

/**
 * KL(p ‖ q) = Σ p·(log p − log q), equal to PyTorch's `F.kl_div(logQ, p, reduction)`. Entries with p = 0
 * contribute 0 (and a finite gradient), as `xlogy` does in PyTorch.
 *
 * @param target     p, probabilities (the teacher; usually constant)
 * @param logProbs   log q, log-probabilities (the student)
 */
export function klDivergence(target: tf.Tensor, logProbs: tf.Tensor, options: KlDivergenceOptions = {}): tf.Tensor {
  const { reduction = 'batchmean', targetLogProbs } = checkOptions<KlDivergenceOptions>(options, {
    reduction: ['batchmean', 'sum', 'mean', 'none'],
    targetLogProbs: true,
  });
  assertTensor(target, 'target');
  assertTensor(logProbs, 'logProbs');
  assertSameShape(target, logProbs, 'target', 'logProbs');
  if (targetLogProbs) assertSameShape(target, targetLogProbs, 'target', 'options.targetLogProbs');
  return tf.tidy(() => {
    // log p where p > 0; at p = 0 use log 1 = 0 so that 0·log 0 = 0 with a finite gradient.
    const logTarget = targetLogProbs ?? tf.log(tf.add(target, tf.cast(tf.equal(target, 0), 'float32')));
    const pointwise = tf.mul(target, tf.sub(logTarget, logProbs));
    if (reduction === 'none') return pointwise;
    const total = tf.sum(pointwise);
    if (reduction === 'sum') return total;
    if (reduction === 'mean') return tf.div(total, Math.max(pointwise.size, 1));
    return tf.div(total, pointwise.rank === 0 ? 1 : (pointwise.shape[0] as number));
  });
}
