import { checkNumber, checkOptions, describeValue, invalid, tf } from '@distillery/tensor';

export interface TimeForwardsOptions {
  /**
   * Images per forward call (default 256): a pass runs the batches one after another, each read back, so that a
   * 10,000-image test set never becomes one activation tensor (a ViT's MLP activations alone would be ~170 MB each,
   * past what tfjs-wasm's heap can allocate).
   */
  batchSize?: number;
}

/**
 * Median wall time (ms) of one forward pass over `images` (in batches of `batchSize`) for each of `forwards`, read
 * back to the host. The passes
 * are interleaved (rounds of model 1, 2, 3, …; two warm-up rounds dropped) so that a change in machine load affects
 * every model alike. The read back is asynchronous (WebGPU in browsers cannot read GPU tensors synchronously).
 *
 *     const [vitMs, lavitMs] = await timeForwards([(x) => vit.forward(x).logits, (x) => lavit.forward(x).logits], images, 10);
 */
export async function timeForwards<T extends tf.Tensor>(
  forwards: readonly ((images: T) => tf.Tensor)[],
  images: T,
  reps: number,
  options?: TimeForwardsOptions,
): Promise<number[]> {
  const { batchSize = 256 } = checkOptions<TimeForwardsOptions>(options ?? {}, { batchSize: true });
  checkNumber(batchSize, 'options.batchSize', { min: 1, integer: true });
  if (!Array.isArray(forwards) || forwards.length === 0 || forwards.some((f) => typeof f !== 'function')) {
    throw invalid('INVALID_ARGUMENT', 'forwards', 'a non-empty array of functions', describeValue(forwards));
  }
  if (!(images instanceof tf.Tensor)) throw invalid('INVALID_ARGUMENT', 'images', 'a tensor', describeValue(images));
  checkNumber(reps, 'reps', { min: 1, integer: true });
  const n = images.shape[0] ?? 0;
  const once = async (forward: (images: T) => tf.Tensor) => {
    const t0 = performance.now();
    for (let start = 0; start < Math.max(n, 1); start += batchSize) {
      const logits = tf.tidy(() =>
        forward(n <= batchSize ? images : (tf.slice(images, start, Math.min(batchSize, n - start)) as T)),
      );
      try {
        await logits.data();
      } finally {
        // A forward that returns its input (an identity baseline) hands back the caller's images: not ours to free.
        if (logits !== images) logits.dispose();
      }
    }
    return performance.now() - t0;
  };
  const times = forwards.map(() => [] as number[]);
  for (let round = 0; round < reps + 2; round++) {
    for (const [i, forward] of forwards.entries()) {
      const t = await once(forward);
      if (round >= 2) times[i]!.push(t);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}
