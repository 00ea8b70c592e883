import { assertNoTensorLeak, registerKernels, tf } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { AdamW } from './adamw';
import { timmNoWeightDecay } from './base';
import { SGD } from './sgd';
import type { Optimizer } from './types';

const FUSED = ['DistilleryAdamWUpdate', 'DistillerySgdUpdate'];

let uid = 0;
/**
 * Seven steps of the optimizer `make` builds, on fresh seeded parameters and gradients (the learning rate changed
 * before the last, as a schedule does), with the fused update kernels registered or not. Returns the parameters and
 * every slot, and the kernels one more step runs.
 */
async function run(make: (ps: tf.Variable[]) => Optimizer, fused: boolean) {
  registerKernels();
  if (!fused) for (const k of FUSED) tf.unregisterKernel(k, tf.getBackend());
  try {
    const shapes = [[5, 3], [3], [2, 2, 4]];
    const ps = shapes.map((s, i) => tf.variable(tf.randomNormal(s, 0, 1, 'float32', 10 + i), true, `fu${i}_${uid++}`));
    const opt = make(ps);
    const step = (t: number) => {
      const grads = Object.fromEntries(
        ps.map((p, i) => [p.name, tf.randomNormal(p.shape, 0, 0.1 * (t + 1), 'float32', 1000 + 100 * t + i)]),
      );
      opt.step(grads);
      tf.dispose(Object.values(grads));
    };
    for (let t = 0; t < 7; t++) {
      if (t === 6) opt.lr *= 0.5;
      step(t);
    }
    const state = opt.getState();
    const values = [
      ...ps.map((p) => Array.from(p.dataSync())),
      ...Object.entries(state.slots).flatMap(([name, m]) => Object.values(m).map((s) => [name, ...s.values])),
    ];
    const kernelNames = (await tf.profile(() => step(7))).kernels.map((k) => k.name);
    await assertNoTensorLeak(() => step(8), 3, 'optimizer step');
    opt.dispose();
    tf.dispose(ps);
    return { values, kernelNames };
  } finally {
    registerKernels();
  }
}

const cases: [string, (ps: tf.Variable[]) => Optimizer][] = [
  [
    'AdamW (weight decay, timm no-decay set)',
    (ps) => new AdamW(ps, { lr: 3e-3, weightDecay: 0.05, noWeightDecay: timmNoWeightDecay }),
  ],
  [
    'AdamW amsgrad, betas (0.8, 0.99), eps 1e-6',
    (ps) => new AdamW(ps, { lr: 1e-2, betas: [0.8, 0.99], eps: 1e-6, amsgrad: true }),
  ],
  ['SGD plain', (ps) => new SGD(ps, { lr: 0.1 })],
  [
    'SGD momentum, dampening, weight decay',
    (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 5e-4 }),
  ],
  ['SGD nesterov', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
];

describe('fused optimizer updates: one kernel per parameter, bit for bit the composed ops', () => {
  for (const [name, make] of cases) {
    it(name, async () => {
      const fused = await run(make, true);
      const composed = await run(make, false);
      expect(fused.values).toEqual(composed.values); // exact float32 equality, every parameter and slot
      const kernel = name.startsWith('AdamW') ? 'DistilleryAdamWUpdate' : 'DistillerySgdUpdate';
      expect(fused.kernelNames.filter((k) => k === kernel)).toHaveLength(3);
      expect(composed.kernelNames).not.toContain(kernel);
      expect(fused.kernelNames.length).toBeLessThan(composed.kernelNames.length);
    });
  }
});
