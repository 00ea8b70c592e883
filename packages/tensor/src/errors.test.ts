import { describe, expect, it } from 'vitest';
import { checkNumber, DistilleryError, describeValue, formatShape } from './errors';

describe('DistilleryError helpers', () => {
  it('checkNumber names the option and the bound', () => {
    expect(checkNumber(2, 'options.temperature', { min: 0, minExclusive: true })).toBe(2);
    expect(() => checkNumber(0, 'options.temperature', { min: 0, minExclusive: true })).toThrowError(
      'options.temperature: expected a number > 0, got 0',
    );
    expect(() => checkNumber(Number.NaN, 'options.gamma')).toThrowError(
      'options.gamma: expected a finite number, got NaN',
    );
    expect(() => checkNumber(1.5, 'k', { integer: true })).toThrowError('k: expected an integer, got 1.5');
    expect(() => checkNumber('3', 'k')).toThrowError(DistilleryError);
  });

  it('describes values and shapes compactly', () => {
    expect(formatShape([8, null, 3])).toBe('[8, *, 3]');
    expect(describeValue(new Float32Array(4))).toBe('a Float32Array of length 4');
    expect(describeValue({ shape: [2, 2] })).toBe('a tensor of shape [2, 2]');
    expect(describeValue(undefined)).toBe('undefined');
  });
});
