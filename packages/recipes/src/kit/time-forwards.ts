import { checkNumber, describeValue, invalid, tf } from '@distillery/tensor';

/**
 * Median wall time (ms) of one forward pass over `images` for each of `forwards`, read back to the host. The passes
 * are interleaved (rounds of model 1, 2, 3, …; two warm-up rounds dropped) so that a change in machine load affects
 * every model alike. The read back is asynchronous (WebGPU in browsers cannot read GPU tensors synchronously).
 *
 *     const [vitMs, lavitMs] = await timeForwards([(x) => vit.forward(x).logits, (x) => lavit.forward(x).logits], images, 10);
 */
export async function timeForwards<T extends tf.Tensor>(
  forwards: readonly ((images: T) => tf.Tensor)[],
  images: T,
  reps: number,
): Promise<number[]> {
  if (!Array.isArray(forwards) || forwards.length === 0 || forwards.some((f) => typeof f !== 'function')) {
    throw invalid('INVALID_ARGUMENT', 'forwards', 'a non-empty array of functions', describeValue(forwards));
  }
  if (!(images instanceof tf.Tensor)) throw invalid('INVALID_ARGUMENT', 'images', 'a tensor', describeValue(images));
  checkNumber(reps, 'reps', { min: 1, integer: true });
  const once = async (forward: (images: T) => tf.Tensor) => {
    const t0 = performance.now();
    const logits = tf.tidy(() => forward(images));
    try {
      await logits.data();
    } finally {
      logits.dispose();
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
