import type { Rng } from '@distillery/tensor';
import { checkOptions, invalid, tf } from '@distillery/tensor';
import { autoAugmentCifar10 } from './auto-augment';
import { cutout, randomCrop, randomHorizontalFlip, randomRotation } from './basic';
import { RAND_AUGMENT_SPEC, type RandAugmentOptions, randAugment } from './rand-augment';

export interface WeakStrongOptions {
  /** Crop padding (default 4). */
  padding?: number;
  /** Weak-view rotation in degrees (default 15). */
  degrees?: number;
  /** Cutout side of the strong view (default 16). */
  cutoutSize?: number;
  /** Policy of the strong view: 'autoaugment' (CIFAR10Policy, MDCS's choice, default) or 'randaugment'. */
  policy?: 'autoaugment' | 'randaugment';
  /** Options of the RandAugment policy. */
  randAugment?: RandAugmentOptions;
}

/**
 * MDCS weak / strong views (Zhao et al., ICCV 2023, arXiv 2308.09922; fistyee/MDCS
 * data_loader/cifar_data_loaders.py) of the same images:
 *
 *   weak   = RandomCrop(pad 4) → HorizontalFlip → Rotation(15°)
 *   strong = RandomCrop(pad 4) → HorizontalFlip → AutoAugment CIFAR10Policy → Cutout(16)
 *
 * (`policy: 'randaugment'` swaps the AutoAugment policy for RandAugment). Concatenate as
 * `tf.concat([weak, strong])` with targets `[y, y]` for the MDCS losses. The caller disposes both views.
 */
export function weakStrongViews(
  images: tf.Tensor4D,
  rng: Rng,
  options: WeakStrongOptions = {},
): { weak: tf.Tensor4D; strong: tf.Tensor4D } {
  checkOptions<WeakStrongOptions>(options, {
    padding: true,
    degrees: true,
    cutoutSize: true,
    policy: ['autoaugment', 'randaugment'],
    randAugment: true,
  });
  if (options.randAugment !== undefined) {
    checkOptions<RandAugmentOptions>(options.randAugment, RAND_AUGMENT_SPEC, 'options.randAugment');
    if ((options.policy ?? 'autoaugment') !== 'randaugment') {
      throw invalid(
        'INVALID_ARGUMENT',
        'options.randAugment',
        "no RandAugment options unless policy is 'randaugment' (they would be ignored)",
        `policy ${JSON.stringify(options.policy ?? 'autoaugment')}`,
      );
    }
  }
  const padding = options.padding ?? 4;
  const weak = tf.tidy(() =>
    randomRotation(randomHorizontalFlip(randomCrop(images, rng, { padding }), rng), rng, {
      degrees: options.degrees ?? 15,
    }),
  );
  const strong = tf.tidy(() =>
    cutout(
      (options.policy ?? 'autoaugment') === 'autoaugment'
        ? autoAugmentCifar10(randomHorizontalFlip(randomCrop(images, rng, { padding }), rng), rng)
        : randAugment(randomHorizontalFlip(randomCrop(images, rng, { padding }), rng), rng, options.randAugment),
      rng,
      { size: options.cutoutSize ?? 16 },
    ),
  );
  return { weak, strong };
}
