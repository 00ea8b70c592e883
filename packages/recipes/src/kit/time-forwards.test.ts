import { assertNoTensorLeak, tf } from '@distillery/tensor';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { timeForwards } from './time-forwards';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('timeForwards', () => {
  it('interleaves the models, drops two warm-up rounds and returns each model’s median', async () => {
    // A fake clock: every reading advances by the next duration of the model that runs, so each pass "takes" a
    // known time; model A's passes take 1, 2, …, model B's 10, 20, … (warm-up rounds included).
    const calls: string[] = [];
    let now = 0;
    let pending = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => {
      now += pending;
      pending = 0;
      return now;
    });
    const pass = { a: 0, b: 0 };
    const model = (name: 'a' | 'b', unit: number) => (x: tf.Tensor) => {
      calls.push(name);
      pass[name]++;
      pending = unit * pass[name];
      return tf.mul(x, 2);
    };
    const images = tf.ones([2, 3]);
    const ms = await timeForwards([model('a', 1), model('b', 10)], images, 2);
    images.dispose();
    expect(calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    // Timed rounds are passes 3 and 4: the upper median, 4 and 40.
    expect(ms).toEqual([4, 40]);
  });

  it('runs a pass in batches of batchSize over every image (a large test set is never one tensor)', async () => {
    const images = tf.range(0, 10).reshape([10, 1]);
    const seen: number[][] = [];
    await timeForwards(
      [
        (x) => {
          seen.push(Array.from(x.dataSync()));
          return tf.mul(x, 1);
        },
      ],
      images,
      1,
      { batchSize: 4 },
    );
    // Three rounds (two warm-up + one timed), each three batches of at most 4 images, in order.
    expect(seen).toHaveLength(9);
    expect(seen.slice(0, 3)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    await expect(timeForwards([(x) => x], images, 1, { batchSize: 0 })).rejects.toThrow(/options\.batchSize/);
    await expect(timeForwards([(x) => x], images, 1, { batchsize: 4 } as never)).rejects.toThrow(/batchsize/);
    images.dispose();
  });

  it('never frees the caller’s images, even when a forward returns them', async () => {
    const images = tf.ones([2, 3]);
    await timeForwards([(x) => x], images, 1);
    expect(images.isDisposed).toBe(false);
    images.dispose();
  });

  it('frees every forward pass', async () => {
    const images = tf.ones([2, 3]);
    await assertNoTensorLeak(() => timeForwards([(x) => tf.relu(x)], images, 1), 3, 'timeForwards');
    images.dispose();
  });
});
