// Small fixtures of the kit's tests (not exported by the package).
import { InMemoryDataset } from '@distillery/data';
import { tf } from '@distillery/tensor';
import type { EpochRecord, FitRunOptions, RecipeContext } from '../recipe';

/**
 * A separable 3-class dataset of 1×1×3 "images": class c has pixel c set (plus a little per-image variation), so a
 * linear model learns it in a few epochs.
 */
export function toyDataset(perClass: number[]): InMemoryDataset {
  const labels = perClass.flatMap((n, c) => Array.from({ length: n }, () => c));
  const pixels = labels.flatMap((c, i) => [0, 1, 2].map((k) => (k === c ? 1 : 0) + 0.05 * ((i * (k + 3)) % 7)));
  return new InMemoryDataset({ pixels, labels, imageShape: [1, 1, 3] });
}

/** A linear classifier over the flattened image: the smallest model trainClassifier accepts. */
export class LinearModel {
  readonly weight: tf.Variable;
  constructor(inFeatures: number, numClasses: number, init = 0) {
    this.weight = tf.variable(tf.fill([inFeatures, numClasses], init));
  }
  trainableVariables(): tf.Variable[] {
    return [this.weight];
  }
  buffers() {
    return { variables: [] };
  }
  forward(images: tf.Tensor): { logits: tf.Tensor2D } {
    return { logits: tf.tidy(() => tf.matMul(tf.reshape(images, [images.shape[0]!, -1]), this.weight)) };
  }
  dispose(): void {
    this.weight.dispose();
  }
}

/** A runner context without files: what the browser app gives; `records` collects every onEpochEnd call. */
export function memoryContext(): RecipeContext & { records: { run: string; record: EpochRecord }[] } {
  const records: { run: string; record: EpochRecord }[] = [];
  return {
    records,
    backend: tf.getBackend(),
    seed: 0,
    smoke: true,
    resume: false,
    progress: 'none',
    outDir: '',
    checkpoint: () => '',
    logFile: () => '',
    log: () => {},
    say: () => {},
    onEpochEnd: (run, record) => records.push({ run, record }),
    fitOptions: (run): FitRunOptions => ({
      resume: false,
      progress: 'none',
      onEpochEnd: (record) => records.push({ run, record }),
    }),
  };
}
