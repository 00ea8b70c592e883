import { describe, expect, it } from 'vitest';
import { describeFlags, parseArgs, parseIntegerList, UsageError } from './args';

const specs = {
  epochs: { type: 'number', integer: true, min: 1, description: 'epochs' },
  backend: { type: 'string', choices: ['wasm', 'cpu'], description: 'backend' },
  resume: { type: 'boolean', description: 'resume' },
} as const;

describe('parseArgs', () => {
  it('parses positionals, --flag value, --flag=value and booleans', () => {
    const parsed = parseArgs(['deit-lt', '--epochs', '3', '--backend=cpu', '--resume'], specs);
    expect(parsed).toEqual({
      positionals: ['deit-lt'],
      flags: { epochs: 3, backend: 'cpu', resume: true },
      help: false,
    });
    expect(parseArgs(['-h'], specs).help).toBe(true);
  });

  it('rejects unknown flags, bad numbers, bad choices and missing values', () => {
    expect(() => parseArgs(['--epoch', '3'], specs)).toThrowError(
      /unknown flag --epoch \(known: --epochs, --backend, --resume\)/,
    );
    expect(() => parseArgs(['--epochs', 'x'], specs)).toThrowError('--epochs must be a number; got "x"');
    expect(() => parseArgs(['--epochs', '0'], specs)).toThrowError('--epochs must be >= 1; got 0');
    expect(() => parseArgs(['--epochs', '2.5'], specs)).toThrowError(UsageError);
    expect(() => parseArgs(['--backend', 'gpu'], specs)).toThrowError('--backend must be one of wasm, cpu; got "gpu"');
    expect(() => parseArgs(['--backend'], specs)).toThrowError(/--backend needs a value/);
    expect(() => parseArgs(['--backend', '--resume'], specs)).toThrowError(/--backend needs a value/);
    expect(() => parseArgs(['--resume=yes'], specs)).toThrowError('--resume takes no value');
  });

  it('parses a comma-separated integer list strictly (--seeds 0,1,2)', () => {
    const seeds = { seeds: { type: 'integers', minItems: 2, description: 'seeds' } } as const;
    expect(parseArgs(['--seeds', '0,1,2'], seeds).flags).toEqual({ seeds: [0, 1, 2] });
    expect(parseArgs(['--seeds=3, -1'], seeds).flags).toEqual({ seeds: [3, -1] });
    for (const bad of ['0,1,1', '0,,1', '0,1.5', '1e2,3', '0,x', '0', '', '0 1', '0,99999999999999999']) {
      expect(() => parseArgs([`--seeds=${bad}`], seeds), bad).toThrowError(UsageError);
    }
    expect(() => parseIntegerList('seeds', '4,2,4')).toThrowError('--seeds lists 4 twice; got "4,2,4"');
    expect(() => parseIntegerList('seeds', '7', 2)).toThrowError('--seeds needs at least 2 values; got "7"');
    expect(() => parseIntegerList('seeds', '1,2.0')).toThrowError(/list of integers .*got "2.0"/);
    expect(parseIntegerList('seeds', '7')).toEqual([7]);
  });

  it('describes every flag', () => {
    const text = describeFlags(specs);
    expect(text).toMatch(/--epochs <number>\s+epochs/);
    expect(text).toMatch(/--backend <wasm\|cpu>/);
    expect(text).toMatch(/--help\s+show this help/);
  });
});
