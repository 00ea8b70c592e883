import { initBackend, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { copyBox } from './run-copy-slice';

/** The box by index arithmetic, one element at a time (the reference). */
function reference(x: Float32Array, shape: number[], begin: number[], size: number[]): Float32Array {
  const out = new Float32Array(size.reduce((a, b) => a * b, 1));
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let o = 0; o < out.length; o++) {
    let rest = o;
    let src = 0;
    for (let i = size.length - 1; i >= 0; i--) {
      const s = size[i] as number;
      src += ((rest % s) + (begin[i] as number)) * (strides[i] as number);
      rest = Math.floor(rest / s);
    }
    out[o] = x[src] as number;
  }
  return out;
}

const CASES: [number[], number[], number[]][] = [
  [[7], [2], [4]],
  [
    [5, 6],
    [1, 2],
    [3, 3],
  ],
  [
    [5, 6],
    [0, 0],
    [5, 6],
  ], // the whole tensor
  [
    [5, 6],
    [2, 0],
    [2, 6],
  ], // contiguous rows
  [
    [4, 9, 192],
    [0, 0, 64],
    [4, 9, 64],
  ], // a q/k/v part
  [
    [3, 4, 5, 6],
    [1, 0, 2, 1],
    [2, 4, 3, 4],
  ],
  [
    [2, 3, 2, 4, 5],
    [1, 1, 0, 2, 0],
    [1, 2, 2, 2, 5],
  ], // rank 5 (tfjs-wasm's index walk)
  [
    [2, 2, 3, 2, 2, 3],
    [0, 1, 1, 0, 1, 0],
    [2, 1, 2, 2, 1, 3],
  ], // rank 6
  [
    [3, 600],
    [1, 10],
    [2, 500],
  ], // runs long enough for subarray copies
];

describe('copyBox (the run-by-run slice copy)', () => {
  for (const [shape, begin, size] of CASES) {
    it(`shape [${shape}], begin [${begin}], size [${size}] equals the element-by-element reference`, () => {
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i);
      const out = new Float32Array(size.reduce((a, b) => a * b, 1));
      copyBox(x, shape, begin, size, out);
      expect(Array.from(out)).toEqual(Array.from(reference(x, shape, begin, size)));
    });
  }
});

describe('Slice and SplitV on wasm (run copies) equal cpu', () => {
  const onBoth = async <T>(f: () => T): Promise<[T, T]> => {
    const before = tf.getBackend();
    await initBackend('wasm', { threads: 1 });
    const wasm = f();
    (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node banner
    await tf.setBackend('cpu');
    const cpu = f();
    await tf.setBackend(before);
    return [wasm, cpu];
  };

  it('slices every case, float32, int32 and bool, with no tensor left behind', async () => {
    for (const [shape, begin, size] of CASES) {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const [wasm, cpu] = await onBoth(() =>
          tf.tidy(() => {
            const n = shape.reduce((a, b) => a * b, 1);
            const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 3 === 0 : i - 7.5));
            const x = tf.tensor(values as number[], shape, dtype);
            const before = tf.memory().numTensors;
            const y = tf.slice(x, begin, size);
            const out = { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
            y.dispose();
            return { ...out, grew: tf.memory().numTensors - before };
          }),
        );
        expect(wasm).toEqual(cpu);
        expect(wasm.grew).toBe(0);
      }
    }
  });

  it('accepts size −1 (to the end) and rejects an out-of-range box', async () => {
    const [wasm, cpu] = await onBoth(() =>
      tf.tidy(() => Array.from(tf.slice(tf.range(0, 24).reshape([2, 3, 4]), [1, 1, 1], [-1, -1, 2]).dataSync())),
    );
    expect(wasm).toEqual(cpu);
    await initBackend('wasm', { threads: 1 });
    expect(() => tf.tidy(() => tf.slice(tf.zeros([2, 3]), [1, 1], [2, 2]))).toThrow();
  });

  it('splits along any axis, equal parts or given sizes, and its gradient is the concatenation', async () => {
    const [wasm, cpu] = await onBoth(() =>
      tf.tidy(() => {
        const x = tf.tensor(
          Array.from({ length: 2 * 5 * 12 }, (_, i) => Math.sin(i)),
          [2, 5, 12],
        );
        const parts = [...tf.split(x, 3, -1), ...tf.split(x, [1, 3, 1], 1), ...tf.split(x, 2, 0)];
        const weights = tf.range(1, 2 * 5 * 12 + 1).reshape([2, 5, 12]);
        const grad = tf.grad((a: tf.Tensor) => {
          const [q, k, v] = tf.split(a, 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
          return tf.sum(tf.mul(tf.concat([v, q, k], -1), weights));
        })(x);
        return { parts: parts.map((p) => [p.shape, Array.from(p.dataSync())]), grad: Array.from(grad.dataSync()) };
      }),
    );
    expect(wasm).toEqual(cpu);
  });

  it('replaces the wasm kernels (the ViT q/k/v split no longer goes through tfjs-wasm Slice)', async () => {
    await initBackend('wasm', { threads: 1 });
    const kernel = tf.getKernel('SplitV', 'wasm');
    expect(kernel?.kernelFunc.toString()).toContain('sliceInfo');
  });
});
