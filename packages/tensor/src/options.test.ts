import { describe, expect, it } from 'vitest';
import { DistilleryError } from './errors';
import { checkEnum, checkOptions, closestName } from './options';

interface LossOptions {
  temperature?: number;
  reduction?: 'mean' | 'sum' | 'none';
  checkFinite?: boolean;
}
const spec = { temperature: true, reduction: ['mean', 'sum', 'none'], checkFinite: true } as const;

describe('checkOptions', () => {
  it('returns declared options unchanged and undefined as {}', () => {
    const options = { temperature: 2, reduction: 'sum' as const };
    expect(checkOptions<LossOptions>(options, spec)).toBe(options);
    expect(checkOptions<LossOptions>(undefined, spec)).toEqual({});
    expect(checkOptions<LossOptions>({ reduction: undefined }, spec)).toEqual({ reduction: undefined });
  });

  it('rejects an unknown key, names it and suggests the declared one', () => {
    let error: unknown;
    try {
      checkOptions<LossOptions>({ temprature: 1 }, spec, 'kdLoss options');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DistilleryError);
    const e = error as DistilleryError;
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.argument).toBe('kdLoss options.temprature');
    expect(e.message).toBe(
      'kdLoss options.temprature: unknown option (did you mean "temperature"?); expected one of the keys temperature, reduction, checkFinite',
    );
    expect(() => checkOptions<LossOptions>({ weight_decay: 1 }, spec)).toThrowError(
      /^options\.weight_decay: unknown option; expected one of the keys/,
    );
  });

  it('does not take inherited names such as constructor for declared keys', () => {
    expect(() => checkOptions<LossOptions>(JSON.parse('{"constructor": 1}'), spec)).toThrowError(/unknown option/);
    expect(() => checkOptions<LossOptions>(JSON.parse('{"__proto__": {"x": 1}}'), spec)).toThrowError(/unknown/);
  });

  it('rejects enum values outside the list', () => {
    expect(() => checkOptions<LossOptions>({ reduction: 'avg' }, spec)).toThrowError(
      'options.reduction: expected one of "mean", "sum", "none", got "avg"',
    );
    expect(() => checkOptions<LossOptions>({ reduction: 'Mean' }, spec)).toThrowError(/did you mean "mean"\?/);
  });

  it('rejects what is not a plain options object', () => {
    for (const bad of [null, 3, 'mean', [1], new Float32Array(2)]) {
      expect(() => checkOptions<LossOptions>(bad, spec)).toThrowError(/^options: expected an options object, got /);
    }
  });
});

describe('checkEnum', () => {
  it('returns an allowed value and names the argument otherwise', () => {
    expect(checkEnum('cpu', 'backend', ['cpu', 'wasm'])).toBe('cpu');
    expect(() => checkEnum(3, 'options.k', [1, 2])).toThrowError('options.k: expected one of 1, 2, got 3');
    expect(() => checkEnum('wsam', 'backend', ['cpu', 'wasm'])).toThrowError(/did you mean "wasm"/);
  });
  it('closestName ignores case, dashes and underscores, and gives up on distant names', () => {
    expect(closestName('weight_decay', ['weightDecay', 'lr'])).toBe('weightDecay');
    expect(closestName('zzzzzz', ['lr', 'momentum'])).toBeUndefined();
  });
});
