import { checkNumber, checkOptions, type Rng, type tf } from '@distillery/tensor';
import { checkImages, rotationMap } from './common';
import { applySlots, emptySlot, type SlotParams } from './rand-augment';

type AAOp =
  | 'shearX'
  | 'shearY'
  | 'translateX'
  | 'translateY'
  | 'rotate'
  | 'color'
  | 'posterize'
  | 'solarize'
  | 'contrast'
  | 'sharpness'
  | 'brightness'
  | 'autocontrast'
  | 'equalize'
  | 'invert';

/** [p1, op1, magnitude index 1, p2, op2, magnitude index 2] — the 25 sub-policies of AutoAugment's CIFAR-10 policy. */
export const CIFAR10_POLICY: readonly [number, AAOp, number, number, AAOp, number][] = [
  [0.1, 'invert', 7, 0.2, 'contrast', 6],
  [0.7, 'rotate', 2, 0.3, 'translateX', 9],
  [0.8, 'sharpness', 1, 0.9, 'sharpness', 3],
  [0.5, 'shearY', 8, 0.7, 'translateY', 9],
  [0.5, 'autocontrast', 8, 0.9, 'equalize', 2],
  [0.2, 'shearY', 7, 0.3, 'posterize', 7],
  [0.4, 'color', 3, 0.6, 'brightness', 7],
  [0.3, 'sharpness', 9, 0.7, 'brightness', 9],
  [0.6, 'equalize', 5, 0.5, 'equalize', 1],
  [0.6, 'contrast', 7, 0.6, 'sharpness', 5],
  [0.7, 'color', 7, 0.5, 'translateX', 8],
  [0.3, 'equalize', 7, 0.4, 'autocontrast', 8],
  [0.4, 'translateY', 3, 0.2, 'sharpness', 6],
  [0.9, 'brightness', 6, 0.2, 'color', 8],
  [0.5, 'solarize', 2, 0.0, 'invert', 3],
  [0.2, 'equalize', 0, 0.6, 'autocontrast', 0],
  [0.2, 'equalize', 8, 0.6, 'equalize', 4],
  [0.9, 'color', 9, 0.6, 'equalize', 6],
  [0.8, 'autocontrast', 4, 0.2, 'solarize', 8],
  [0.1, 'brightness', 3, 0.7, 'color', 0],
  [0.4, 'solarize', 5, 0.9, 'autocontrast', 3],
  [0.9, 'translateY', 9, 0.7, 'translateY', 9],
  [0.9, 'autocontrast', 2, 0.8, 'solarize', 3],
  [0.8, 'equalize', 8, 0.1, 'invert', 3],
  [0.7, 'translateY', 9, 0.9, 'autocontrast', 1],
];

const linspace = (a: number, b: number, i: number) => a + ((b - a) * i) / 9;

/** Magnitude of bin i (0…9): the AutoAugment ranges (np.linspace over 10 bins). */
function magnitude(op: AAOp, i: number): number {
  switch (op) {
    case 'shearX':
    case 'shearY':
      return linspace(0, 0.3, i);
    case 'translateX':
    case 'translateY':
      return linspace(0, 150 / 331, i);
    case 'rotate':
      return linspace(0, 30, i);
    case 'posterize':
      return Math.round(linspace(8, 4, i));
    case 'solarize':
      return linspace(256, 0, i);
    case 'color':
    case 'contrast':
    case 'sharpness':
    case 'brightness':
      return linspace(0, 0.9, i);
    default:
      return 0;
  }
}

function setOp(p: SlotParams, b: number, op: AAOp, m: number, rng: Rng, H: number, W: number): void {
  const sign = () => (rng.uniform() < 0.5 ? -1 : 1);
  switch (op) {
    case 'shearX':
      p.affine[b] = [1, m * sign(), 0, 0, 1, 0];
      break;
    case 'shearY':
      p.affine[b] = [1, 0, 0, m * sign(), 1, 0];
      break;
    case 'translateX':
      p.affineNearest[b] = [1, 0, m * W * sign(), 0, 1, 0];
      break;
    case 'translateY':
      p.affineNearest[b] = [1, 0, 0, 0, 1, m * H * sign()];
      break;
    case 'rotate':
      p.affineNearest[b] = rotationMap((m * Math.PI) / 180, H, W);
      break;
    case 'color':
      p.color[b] = 1 + m * sign();
      break;
    case 'contrast':
      p.contrast[b] = 1 + m * sign();
      break;
    case 'sharpness':
      p.sharpness[b] = 1 + m * sign();
      break;
    case 'brightness':
      p.brightness[b] = 1 + m * sign();
      break;
    case 'posterize':
      p.posterize[b] = 1;
      p.bits[b] = m;
      break;
    case 'solarize':
      p.solarize[b] = m / 255; // 8-bit values >= threshold are inverted
      break;
    case 'autocontrast':
      p.autoContrast[b] = 1;
      break;
    case 'equalize':
      p.equalize[b] = 1;
      break;
    case 'invert':
      p.invert[b] = 1;
      break;
  }
}

/**
 * AutoAugment's CIFAR-10 policy (Cubuk et al. 2019, arXiv 1805.09501; the DeepVoltaire/AutoAugment `CIFAR10Policy`
 * that MDCS's strong view uses), batched: each image draws one of the 25 sub-policies uniformly and applies its two
 * ops with their probabilities and magnitude bins (shear ±0.3·i/9, translate ±(150/331)·i/9 of the size, rotate
 * 30·i/9° counter-clockwise, colour/contrast/sharpness/brightness 1 ± 0.9·i/9, posterize round(8 − 4i/9) bits,
 * solarize threshold 256 − 256i/9, autocontrast, equalize, invert). Fill 128/255 as the reference. Shears are
 * bilinear (PIL uses bicubic); translate and rotate are nearest, as PIL's defaults.
 */
export function autoAugmentCifar10(
  images: tf.Tensor4D,
  rng: Rng,
  options: { fill?: number; path?: 'auto' | 'host' | 'device' } = {},
): tf.Tensor4D {
  checkOptions<{ fill?: number; path?: 'auto' | 'host' | 'device' }>(options, {
    fill: true,
    path: ['auto', 'host', 'device'],
  });
  const [B, H, W] = checkImages(images);
  const fill = checkNumber(options.fill ?? 128 / 255, 'options.fill');
  const slots = [emptySlot(B), emptySlot(B)];
  for (let b = 0; b < B; b++) {
    const [p1, op1, i1, p2, op2, i2] = CIFAR10_POLICY[rng.int(CIFAR10_POLICY.length)]!;
    if (rng.uniform() < p1) setOp(slots[0]!, b, op1, magnitude(op1, i1), rng, H, W);
    if (rng.uniform() < p2) setOp(slots[1]!, b, op2, magnitude(op2, i2), rng, H, W);
  }
  return applySlots(images, slots, fill, options.path ?? 'auto');
}
