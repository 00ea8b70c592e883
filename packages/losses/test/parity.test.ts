import * as losses from '@distillery/losses';
import { describe, it } from 'vitest';
import { checkCase, loadCases } from './helpers';

// Fixtures: tools/reference/losses/*.py (PyTorch, float64). Loss values at 1e-5 relative, gradients with respect to
// every differentiable input at 1e-4, and a zero gradient wherever the reference detaches.
for (const prefix of ['distillation-', 'long-tail-', 'multi-label-']) {
  const cases = loadCases(prefix);
  if (cases.length === 0) continue;
  describe(`parity with the PyTorch references (${prefix}*.json)`, () => {
    for (const c of cases) {
      it(`${c.fn}: ${c.name}`, () => checkCase(losses as Record<string, unknown>, c));
    }
  });
}
