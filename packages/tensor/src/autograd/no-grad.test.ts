import { describe, expect, it } from 'vitest';
import { assertNoTensorLeak, noGrad, stopGradient, tf } from '../index';

const state = () => tf.engine().state;
const tapeLength = () => state().activeTape?.length ?? 0;

function setup() {
  const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.5, 'float32', seed);
  const teacher = { w1: rand([6, 8], 1), w2: rand([8, 4], 2) };
  const student = { w1: tf.variable(rand([6, 5], 3), true, 'ng_s1'), w2: tf.variable(rand([5, 4], 4), true, 'ng_s2') };
  const x = rand([3, 6], 5);
  const teacherForward = () => tf.matMul(tf.relu(tf.matMul(x, teacher.w1)), teacher.w2);
  const studentForward = () => tf.matMul(tf.tanh(tf.matMul(x, student.w1)), student.w2);
  const dispose = () => tf.dispose([teacher.w1, teacher.w2, student.w1, student.w2, x]);
  return { teacherForward, studentForward, student, dispose };
}

/** One KD-style step: the teacher's forward inside the student's loss, either under noGrad or cut by stopGradient. */
function step(s: ReturnType<typeof setup>, mode: 'noGrad' | 'stopGradient') {
  let teacherNodes = -1;
  const { value, grads } = tf.variableGrads(() => {
    const before = tapeLength();
    const t = mode === 'noGrad' ? noGrad(s.teacherForward) : stopGradient(s.teacherForward());
    teacherNodes = tapeLength() - before;
    return tf.mean(tf.squaredDifference(tf.softmax(s.studentForward()), tf.softmax(t))) as tf.Scalar;
  }, [s.student.w1, s.student.w2]);
  const out = {
    loss: value.dataSync()[0],
    g1: Array.from(grads.ng_s1?.dataSync() ?? []),
    g2: Array.from(grads.ng_s2?.dataSync() ?? []),
    teacherNodes,
  };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('noGrad', () => {
  it('records no tape node for a teacher forward inside variableGrads, with the same loss and gradients', () => {
    const s = setup();
    const cut = step(s, 'stopGradient');
    const off = step(s, 'noGrad');
    expect(cut.teacherNodes).toBeGreaterThanOrEqual(4); // matMul, relu, matMul (+ the stopGradient node)
    expect(off.teacherNodes).toBe(0);
    expect(off.loss).toBe(cut.loss);
    expect(off.g1).toEqual(cut.g1);
    expect(off.g2).toEqual(cut.g2);
    expect(off.g1.some((v) => v !== 0)).toBe(true);
    s.dispose();
  });

  it('keeps no saved tensors alive: fewer live tensors inside the loss than with the forward recorded', () => {
    const s = setup();
    const live = (wrap: (f: () => tf.Tensor) => tf.Tensor) => {
      let count = 0;
      const { value, grads } = tf.variableGrads(() => {
        const t = wrap(s.teacherForward);
        count = tf.memory().numTensors;
        return tf.sum(tf.mul(s.studentForward(), t)) as tf.Scalar;
      }, [s.student.w1, s.student.w2]);
      tf.dispose([value, ...Object.values(grads)]);
      return count;
    };
    expect(live(noGrad)).toBeLessThan(live((f) => f()));
    s.dispose();
  });

  it('nests, and restores the engine after an exception; gradients work afterwards', () => {
    const depth = state().kernelDepth;
    const inner = noGrad(() => noGrad(() => state().kernelDepth));
    expect(inner).toBe(depth + 2);
    expect(state().kernelDepth).toBe(depth);
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(state().kernelDepth).toBe(depth);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.square(a)))(tf.tensor1d([1, 2]));
    expect(Array.from(g.dataSync())).toEqual([2, 4]);
  });

  it('a gradient taken inside noGrad sees nothing recorded (like torch.no_grad)', () => {
    const x = tf.tensor1d([1, 2]);
    expect(() => noGrad(() => tf.grad((a: tf.Tensor) => tf.sum(tf.square(a)))(x))).toThrow(/Cannot compute gradient/);
    expect(state().kernelDepth).toBe(0);
    x.dispose();
  });

  it('a training step with the teacher under noGrad leaks no tensor', async () => {
    const s = setup();
    await assertNoTensorLeak(() => void step(s, 'noGrad'), 3, 'noGrad step');
    s.dispose();
  });
});
