// Bad input to every public function of @distillery/recipes: a DistilleryError naming the argument.
import { loadDigits } from '@distillery/data';
import { DistilleryError, tf } from '@distillery/tensor';
import { SGD } from '@distillery/train';
import { describe, expect, it } from 'vitest';
import {
  acceptData,
  digitsSplit,
  evaluateClassifier,
  fashionMnistPools,
  fashionMnistSplit,
  getRecipe,
  groupRow,
  historyCurves,
  loadClassificationData,
  longTailSplit,
  perClassBars,
  teacherStudents,
  trainClassifier,
  warmupCosine,
} from '../src/index';
import { evaluateMultiLabel } from '../src/kit/evaluate-multi-label';
import { pcaFeatures } from '../src/kit/pca-features';
import { LinearModel, memoryContext, toyDataset } from '../src/kit/test-support';
import { timeForwards } from '../src/kit/time-forwards';

const data = toyDataset([4, 4, 4]);
// Made on first use: tensors only after the test setup has started the backend.
let linear: LinearModel | undefined;
const model = () => (linear ??= new LinearModel(3, 3));
const forward = (x: tf.Tensor) => model().forward(x).logits;
/** A valid trainClassifier call with one option replaced. */
const train = (change: Record<string, unknown>) =>
  trainClassifier({
    ctx: memoryContext(),
    run: 'r',
    model: model(),
    data,
    epochs: 1,
    batchSize: 4,
    seed: 0,
    optimizer: (p: tf.Variable[]) => new SGD(p, { lr: 0.1 }),
    loss: ({ images, labels }: { images: tf.Tensor4D; labels: tf.Tensor1D }) =>
      tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), forward(images)) as tf.Scalar,
    ...change,
  } as never);
const evaluate = (change: Record<string, unknown>) =>
  evaluateClassifier(data, forward, { numClasses: 3, ...change } as never);
const history = [{ epoch: 0, loss: 1 }];
const student = { key: 'ce', name: 'CE', overall: 0.5, parameters: 1, perClass: [0.5], history };
const teacher = { label: 'T', name: 'teacher', overall: 0.9, parameters: 2, history };

const tiny = loadDigits().subset([0, 1, 2, 3]);
const twoImages = { length: 2, batch: (i: ArrayLike<number>) => ({ images: tf.ones([i.length, 3]) }) };
const two = [
  [1, 0, 0],
  [0, 1, 1],
];

/** A bad call and the `argument` its DistilleryError must name. */
type BadCall = [call: () => unknown, argument: string];

const cases: Record<string, BadCall[]> = {
  getRecipe: [
    [() => getRecipe('no-such-recipe'), 'nameOrAlias'],
    [() => getRecipe(''), 'nameOrAlias'],
    [() => getRecipe('USKD'), 'nameOrAlias'],
    [() => getRecipe(undefined as never), 'nameOrAlias'],
    [() => getRecipe(3 as never), 'nameOrAlias'],
  ],
  acceptData: [
    [() => acceptData('cifar10', { names: ['digits'] }), '--data'],
    [() => acceptData('', { names: ['digits'], paths: true }), '--data'],
    [() => acceptData(3 as never, { names: ['digits'] }), '--data'],
    [() => acceptData(undefined, { names: [] }), 'options.names'],
    [() => acceptData(undefined, { names: ['digits'], path: true } as never), 'options.path'],
    [() => acceptData(undefined, { names: ['digits'], paths: 'yes' as never }), 'options.paths'],
    [() => acceptData(undefined, undefined as never), 'options'],
  ],
  loadClassificationData: [
    [() => loadClassificationData('', { seed: 0 }), '--data'],
    [() => loadClassificationData(undefined, { seed: 0, split: 'test' } as never), 'options.split'],
    [() => loadClassificationData(undefined, undefined as never), 'options'],
    [() => loadClassificationData('fashion-mnist', { seed: 0, smoke: 1 as never }), 'options.smoke'],
  ],
  fashionMnistSplit: [
    [() => fashionMnistSplit({ seed: 0.5 }), 'options.seed'],
    [() => fashionMnistSplit({ seed: 0, imbalanceFactor: 0.5 }), 'options.imbalanceFactor'],
    [() => fashionMnistSplit({ seed: 0, imbalanceFactor: Number.NaN }), 'options.imbalanceFactor'],
    [() => fashionMnistSplit({ seed: 0, smoke: 'yes' as never }), 'options.smoke'],
    [() => fashionMnistSplit({ seed: 0, imbalance: 10 } as never), 'options.imbalance'],
    [() => fashionMnistSplit({ seed: 0, root: '/no/such/fmnist' }), '/no/such/fmnist/train-images-idx3-ubyte.gz'],
    [() => fashionMnistSplit(undefined as never), 'options'],
  ],
  fashionMnistPools: [
    [() => fashionMnistPools({ seed: 0, imbalanceFactor: 10 } as never), 'options.imbalanceFactor'],
    [() => fashionMnistPools({ seed: 0, root: '' }), 'options.root'],
  ],
  digitsSplit: [
    [() => digitsSplit({ seed: 0.5 }), 'options.seed'],
    [() => digitsSplit({ seed: 0, testPerClass: 0 }), 'options.testPerClass'],
    [() => digitsSplit({ seed: 0, trainLimit: 1e9 }), 'options.trainLimit'],
    [() => digitsSplit({ seed: 0, limit: 5 } as never), 'options.limit'],
  ],
  longTailSplit: [
    [() => longTailSplit(data, { imbalanceFactor: 0.5 }), 'options.imbalanceFactor'],
    [() => longTailSplit(data, { imbalanceFactor: 10, profile: 'linear' as never }), 'options.profile'],
    [() => longTailSplit(data, { imbalanceFactor: 10, sead: 1 } as never), 'options.sead'],
    [() => longTailSplit(data, undefined as never), 'options'],
    [() => longTailSplit({ labels: () => [0] } as never, { imbalanceFactor: 10 }), 'dataset'],
  ],
  evaluateClassifier: [
    [() => evaluate({ numClasses: 0 }), 'options.numClasses'],
    [() => evaluate({ cutpoints: [2] }), 'options.cutpoints'],
    [() => evaluate({ cutpoints: [2, 1] }), 'options.cutpoints[1]'],
    [() => evaluate({ cutpoints: [0, 4] }), 'options.cutpoints[1]'],
    [() => evaluate({ reference: [0, 1] }), 'options.reference'],
    [() => evaluate({ batchSize: 0 }), 'options.batchSize'],
    [() => evaluate({ numclasses: 3 }), 'options.numclasses'],
    [() => evaluateClassifier(null as never, forward, { numClasses: 3 }), 'dataset'],
    [() => evaluateClassifier(data, 'f' as never, { numClasses: 3 }), 'forward'],
  ],
  trainClassifier: [
    [() => train({ ctx: {} }), 'options.ctx'],
    [() => train({ run: '' }), 'options.run'],
    [() => train({ model: {} }), 'options.model'],
    [() => train({ teacher: 3 }), 'options.teacher'],
    [() => train({ optimizer: 'sgd' }), 'options.optimizer'],
    [() => train({ loss: undefined }), 'options.loss'],
    [() => train({ data: [] }), 'options.data'],
    [() => train({ epochs: 0 }), 'options.epochs'],
    [() => train({ seed: 1.5 }), 'options.seed'],
    [() => train({ extraParams: 'w' }), 'options.extraParams'],
    [() => train({ evaluateOn: {} }), 'options.evaluateOn'],
    [() => train({ epochz: 2 }), 'options.epochz'],
    [
      () =>
        train({
          loss: ({ images }: { images: tf.Tensor4D }, _s: unknown, t: (v: tf.Tensor4D) => tf.Tensor) => t(images).sum(),
        }),
      'options.teacher',
    ],
  ],
  warmupCosine: [
    [() => warmupCosine({ lr: 0.1, epochs: 0, warmupEpochs: 1 }), 'options.epochs'],
    [() => warmupCosine({ lr: -1, epochs: 5, warmupEpochs: 1 }), 'options.lr'],
    [() => warmupCosine({ lr: 0.1, epochs: 5, warmupEpochs: 1.5 }), 'options.warmupEpochs'],
    [() => warmupCosine({ lr: 0.1, epochs: 5, warmup: 1 } as never), 'options.warmup'],
  ],
  historyCurves: [
    [() => historyCurves('runs' as never, { loss: 'loss' }), 'runs'],
    [() => historyCurves([{ name: 'a', history }], null as never), 'charts'],
    [() => historyCurves([{ name: 'a', history }], { acc: 'accuracy' }), 'runs[0].history[0].accuracy'],
    [() => historyCurves([null as never], { loss: 'loss' }), 'runs[0]'],
  ],
  perClassBars: [
    [() => perClassBars({ counts: [1, -1], accuracy: {} }), 'options.counts'],
    [() => perClassBars({ counts: [1], accuracy: { a: [0.5, 0.5] } }), 'options.accuracy.a'],
    [() => perClassBars({ counts: [1], accuracy: {}, classNames: ['a', 'b'] }), 'options.classNames'],
    [() => perClassBars({ counts: [1], accuracy: {}, titel: 'x' } as never), 'options.titel'],
  ],
  groupRow: [[() => groupRow('a', { overall: 0.5, head: 0.5 }), 'evaluation']],
  teacherStudents: [
    [() => teacherStudents({ teacher, students: [], baseline: 'ce', counts: [1] }), 'options.students'],
    [() => teacherStudents({ teacher, students: [student], baseline: 'kd', counts: [1] }), 'options.baseline'],
    [
      () => teacherStudents({ teacher: {} as never, students: [student], baseline: 'ce', counts: [1] }),
      'options.teacher',
    ],
    [
      () => teacherStudents({ teacher, students: [student], baseline: 'ce', counts: [1], extra: 1 } as never),
      'options.extra',
    ],
  ],
  evaluateMultiLabel: [
    [() => evaluateMultiLabel(twoImages, (x) => x, { targets: [[1, 0, 0]] }), 'options.targets'],
    [() => evaluateMultiLabel(twoImages, (x) => x, { targets: [[1, 0, 0], [1]] }), 'options.targets'],
    [() => evaluateMultiLabel(twoImages, (x) => x, { targets: two, batchSize: 0 }), 'options.batchSize'],
    [() => evaluateMultiLabel(twoImages, (x) => x, { targets: two, top: 1 } as never), 'options.top'],
    [() => evaluateMultiLabel(twoImages, (x) => tf.slice(x, [0, 0], [-1, 2]), { targets: two }), 'logits'],
    [() => evaluateMultiLabel(twoImages, null as never, { targets: two }), 'logits'],
    [() => evaluateMultiLabel({ length: 0, batch: twoImages.batch }, (x) => x, { targets: [] }), 'dataset'],
  ],
  timeForwards: [
    [() => timeForwards([], tf.ones([1, 2]), 1), 'forwards'],
    [() => timeForwards([null as never], tf.ones([1, 2]), 1), 'forwards'],
    [() => timeForwards([(x) => x], [1, 2] as never, 1), 'images'],
    [() => timeForwards([(x) => x], tf.ones([1, 2]), 0), 'reps'],
    [() => timeForwards([(x) => x], tf.ones([1, 2]), 1.5), 'reps'],
  ],
  pcaFeatures: [
    [() => pcaFeatures(tiny, { components: 0 }), 'options.components'],
    [() => pcaFeatures(tiny, { components: 1.5 }), 'options.components'],
    [() => pcaFeatures(tiny, { components: 65 }), 'options.components'],
    [() => pcaFeatures(tiny, { components: 2, dims: 2 } as never), 'options.dims'],
    [() => pcaFeatures(tiny, null as never), 'options'],
    [() => pcaFeatures(null as never, { components: 2 }), 'dataset'],
    [() => pcaFeatures(loadDigits().subset([0]), { components: 1 }), 'dataset'],
  ],
};

describe('robustness: bad input gets a DistilleryError naming the argument', () => {
  for (const [name, calls] of Object.entries(cases)) {
    it(name, async () => {
      for (const [call, argument] of calls) {
        let error: unknown;
        try {
          await call();
        } catch (e) {
          error = e;
        }
        expect(error, `${name}: ${call}`).toBeInstanceOf(DistilleryError);
        expect((error as DistilleryError).argument, `${name}: ${call}`).toBe(argument);
      }
    });
  }
});
