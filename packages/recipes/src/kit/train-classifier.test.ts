import { crossEntropy, kdLoss } from '@distillery/losses';
import { measureTensorGrowth, tf } from '@distillery/tensor';
import { SGD } from '@distillery/train';
import { describe, expect, it } from 'vitest';
import { LinearModel, memoryContext, toyDataset } from './test-support';
import { trainClassifier } from './train-classifier';

describe('trainClassifier', () => {
  const data = toyDataset([8, 8, 8]);

  it('trains the model (and extra variables) with fit, reports test accuracy per epoch to the runner', async () => {
    const ctx = memoryContext();
    const model = new LinearModel(3, 3);
    const extra = tf.variable(tf.zeros([3]));
    const { history } = await trainClassifier({
      ctx,
      run: 'toy',
      model,
      data,
      evaluateOn: data,
      epochs: 4,
      batchSize: 8,
      seed: 0,
      extraParams: [extra],
      optimizer: (params) => {
        expect(params).toEqual([model.weight, extra]);
        return new SGD(params, { lr: 1 });
      },
      loss: ({ images, labels }) => crossEntropy(tf.add(model.forward(images).logits, extra) as tf.Tensor2D, labels),
    });
    expect(history.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
    expect(history.at(-1)!.loss).toBeLessThan(history[0]!.loss);
    expect(history.at(-1)!.testAccuracy).toBe(1);
    expect(ctx.records.map((e) => e.run)).toEqual(['toy', 'toy', 'toy', 'toy']);
    expect(ctx.records[3]!.record.testAccuracy).toBe(1);
    // The extra variable is trained too (its gradient is the mean of softmax − one-hot: not zero at the start).
    expect(Math.max(...(await extra.data()))).toBeGreaterThan(0);
    model.dispose();
    extra.dispose();
  });

  it("gives the loss the teacher's logits, without gradient into the teacher, and leaks no tensor", async () => {
    const ctx = memoryContext();
    const teacher = new LinearModel(3, 3);
    teacher.weight.assign(tf.mul(tf.eye(3), 5));
    const before = await teacher.weight.data();
    const student = new LinearModel(3, 3);
    const run = () =>
      trainClassifier({
        ctx,
        run: 'student',
        model: student,
        teacher,
        data,
        epochs: 2,
        batchSize: 8,
        seed: 1,
        optimizer: (params) => new SGD(params, { lr: 0.5 }),
        loss: ({ images }, _step, teacherLogits) =>
          kdLoss(student.forward(images).logits, teacherLogits(images as tf.Tensor4D), { temperature: 1 }),
      });
    const { history } = await run();
    expect(history.at(-1)!.loss).toBeLessThan(history[0]!.loss);
    expect(history[0]!.testAccuracy).toBeUndefined();
    expect(Array.from(await teacher.weight.data())).toEqual(Array.from(before));
    // The student learnt the teacher's diagonal.
    const w = (await student.weight.array()) as number[][];
    expect(w[0]![0]!).toBeGreaterThan(w[0]![1]!);
    const growth = await measureTensorGrowth(async () => {
      await run();
    }, 2);
    expect(growth.growth).toBe(0);
    student.dispose();
    teacher.dispose();
  });
});
