// Bad input to every public function of @distillery/recipes: a DistilleryError naming the argument.
import { loadDigits } from '@distillery/data';
import { DistilleryError, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { getRecipe } from '../src/index';
import { evaluateMultiLabel } from '../src/kit/evaluate-multi-label';
import { pcaFeatures } from '../src/kit/pca-features';
import { timeForwards } from '../src/kit/time-forwards';

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
