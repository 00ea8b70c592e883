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

  it('frees every forward pass', async () => {
    const images = tf.ones([2, 3]);
    await assertNoTensorLeak(() => timeForwards([(x) => tf.relu(x)], images, 1), 3, 'timeForwards');
    images.dispose();
  });
});
