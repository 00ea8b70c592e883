import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { acceptData } from './accept-data';

describe('acceptData', () => {
  it('gives the default name when --data is absent, and a known name as it is', () => {
    expect(acceptData(undefined, { names: ['digits'] })).toBe('digits');
    expect(acceptData(undefined, { names: ['hsi-lidar', 'other'] })).toBe('hsi-lidar');
    expect(acceptData('other', { names: ['hsi-lidar', 'other'] })).toBe('other');
  });

  it('refuses an unknown name with what the recipe accepts', () => {
    let error: unknown;
    try {
      acceptData('cifar10', { names: ['digits'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).argument).toBe('--data');
    expect((error as DistilleryError).message).toBe(`--data: expected 'digits', got "cifar10"`);
    expect(() => acceptData('x', { names: ['a', 'b'] })).toThrow(/expected one of 'a', 'b', got "x"/);
  });

  it('takes any other non-empty string as a path when paths are allowed', () => {
    expect(acceptData('/data/cifar-10-batches-bin', { names: ['digits'], paths: true })).toBe(
      '/data/cifar-10-batches-bin',
    );
    expect(() => acceptData('', { names: ['digits'], paths: true })).toThrow(/--data: expected 'digits' or a path/);
  });
});
