import { classCounts } from '@distillery/samplers';
import { describe, expect, it } from 'vitest';
import { digitsSplit } from './digits-split';

describe('digitsSplit', () => {
  it('splits the digits into a balanced test set and the rest, and trainLimit keeps the first images', () => {
    const { train, test } = digitsSplit({ seed: 0 });
    expect(classCounts(test.labels(), 10)).toEqual(new Array(10).fill(50));
    expect(train.length + test.length).toBe(1797);
    const small = digitsSplit({ seed: 0, trainLimit: 256 });
    expect(small.train.length).toBe(256);
    expect(Array.from(small.train.labels())).toEqual(Array.from(train.labels().slice(0, 256)));
    expect(Array.from(small.test.labels())).toEqual(Array.from(test.labels()));
  });
});
