import { initBackend, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { sumLeadingRows } from './leading-axes-sum';

describe('sumLeadingRows', () => {
  it('sums the rows of a [rows, cols] array column by column', () => {
    const out = new Float32Array(3);
    sumLeadingRows(Float32Array.of(1, 2, 3, 10, 20, 30, 100, 200, 300), 3, 3, out);
    expect(Array.from(out)).toEqual([111, 222, 333]);
  });
});

describe('Sum on wasm equals cpu for every axis set (leading prefixes take the row sum)', () => {
  const cases: [number[], number | number[], boolean][] = [
    [[4, 5, 6], [0, 1], false], // a bias gradient: prefix
    [[4, 5, 6], [1, 0], true], // the same axes unordered, keepDims
    [[4, 5, 6], 0, false],
    [[4, 5, 6], [-3], true], // negative axis
    [[4, 5, 6], [0, 2], false], // not a prefix: the original kernel
    [[4, 5, 6], [2], false], // inner: the original kernel
    [[4, 5, 6], [0, 1, 2], false], // every axis: the original kernel
    [[3, 2, 2, 2, 5], [0, 1, 2, 3], true],
    [[0, 4], [0], false], // empty input
  ];

  it('values, shapes and the tensor count', async () => {
    const compute = () => {
      const out = [];
      for (const [shape, axis, keepDims] of cases) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = tf.tensor(
          Array.from({ length: n }, (_, i) => Math.sin(i) * 3),
          shape,
        );
        const before = tf.memory().numTensors;
        const y = tf.sum(x, axis, keepDims);
        out.push({ shape: y.shape, values: Array.from(y.dataSync()), grew: tf.memory().numTensors - before });
        tf.dispose([x, y]);
      }
      return out;
    };
    const before = tf.getBackend();
    await initBackend('wasm', { threads: 1 });
    const wasm = compute();
    (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node banner
    await tf.setBackend('cpu');
    const cpu = compute();
    await tf.setBackend(before);
    expect(wasm.map((r) => r.shape)).toEqual(cpu.map((r) => r.shape));
    wasm.forEach((r, i) => {
      const c = cpu[i] as (typeof cpu)[number];
      for (const [j, v] of r.values.entries()) expect(Math.abs(v - (c.values[j] as number))).toBeLessThan(1e-4);
      expect(r.grew).toBe(1);
    });
  });

  it('int32 sums keep their dtype (the original kernel)', async () => {
    await initBackend('wasm', { threads: 1 });
    const y = tf.tidy(() => tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0));
    expect([y.dtype, ...Array.from(y.dataSync())]).toEqual(['int32', 4, 6]);
    y.dispose();
  });
});
