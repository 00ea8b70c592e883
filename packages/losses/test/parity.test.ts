import * as losses from '@distillery/losses';
import { tf } from '@distillery/tensor';
import { describe, it } from 'vitest';
import { checkCase, loadCases } from './helpers';

// Fixtures: tools/reference/losses/*.py (PyTorch, float64). Loss values at 1e-5 relative, gradients with respect to
// every differentiable input at 1e-4, and a zero gradient wherever the reference detaches.
// trgLoss returns its parts; the fixtures name the part they check in options.part.
const fns: Record<string, unknown> = {
  ...losses,
  trgLoss: (s: tf.Tensor3D, t: tf.Tensor3D, options: losses.TrgLossOptions & { part: keyof losses.TrgLossParts }) => {
    const { part, ...trgOptions } = options;
    const parts = losses.trgLoss(s, t, trgOptions);
    const { [part]: chosen, ...rest } = parts;
    tf.dispose(Object.values(rest));
    return chosen;
  },
};

for (const prefix of ['distillation-', 'long-tail-', 'multi-label-', 'relational-']) {
  const cases = loadCases(prefix);
  if (cases.length === 0) continue;
  describe(`parity with the PyTorch references (${prefix}*.json)`, () => {
    for (const c of cases) {
      it(`${c.fn}: ${c.name}`, () => checkCase(fns, c));
    }
  });
}
