import { invalid } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { expectClose, expectDistilleryError, expectDistilleryErrorAsync, expectScaledClose, fixturesIn } from './index';

const named = (argument: string) => () => {
  throw invalid('INVALID_ARGUMENT', argument, '1', '2');
};

describe('test-support', () => {
  it('expectClose accepts within rtol·|e| + atol and names the worst index otherwise', () => {
    expectClose([1, 2.000001], [1, 2], 1e-6);
    expect(() => expectClose([1, 2.1, 3.5], [1, 2, 3], 1e-3)).toThrow(/index 2: got 3.5/);
    expect(() => expectClose([Number.NaN], [0], 1, 1)).toThrow(/index 0/);
    expect(() => expectClose([1], [1, 2], 1)).toThrow();
  });

  it('expectScaledClose compares near-zero entries at the tensor scale', () => {
    expectScaledClose([100, 1e-5], [100, 0], 1e-4);
    expect(() => expectScaledClose([100, 2], [100, 0], 1e-4)).toThrow(/worst relative error/);
  });

  it('expectDistilleryError checks class, argument, code, message and prefix', async () => {
    expect(expectDistilleryError(named('options.x'), 'options.x', 'INVALID_ARGUMENT').argument).toBe('options.x');
    expectDistilleryError(named('options.x'), /^options\./, { message: /expected 1/, prefixed: true });
    expect(() => expectDistilleryError(named('a'), 'b')).toThrow();
    expect(() => expectDistilleryError(named('a'), 'a', 'other-code')).toThrow();
    expect(() => expectDistilleryError(named('a'), 'a', { message: /nope/ })).toThrow();
    expect(() => expectDistilleryError(() => 1, 'a')).toThrow(/expected a DistilleryError naming a/);
    expect(() =>
      expectDistilleryError(() => {
        throw new Error('a: plain');
      }, 'a'),
    ).toThrow();
    await expectDistilleryErrorAsync(async () => named('p')(), 'p');
    await expect(expectDistilleryErrorAsync(async () => 1, 'p')).rejects.toThrow();
  });

  it('fixturesIn reads JSON and bytes from its folder', () => {
    const here = fixturesIn(__dirname);
    expect(here.json<{ name: string }>('../package.json').name).toBe('@distillery/test-support');
    expect(here.bytes('../package.json')[0]).toBe('{'.charCodeAt(0));
  });
});
