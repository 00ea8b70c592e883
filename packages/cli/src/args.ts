/** A small, strict command-line parser: every flag is declared, unknown ones are errors (never ignored). */

export interface FlagSpec {
  /** 'integers': a comma-separated list of distinct integers ("0,1,2"), parsed to number[]. */
  type: 'string' | 'number' | 'boolean' | 'integers';
  description: string;
  choices?: readonly string[];
  integer?: boolean;
  min?: number;
  /** 'integers': the fewest values accepted (default 1). */
  minItems?: number;
  valueName?: string;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Parsed {
  positionals: string[];
  flags: Record<string, string | number | boolean | number[]>;
  help: boolean;
}

export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): Parsed {
  const positionals: string[] = [];
  const flags: Record<string, string | number | boolean | number[]> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name];
    if (!spec) {
      const known = Object.keys(specs).map((k) => `--${k}`);
      throw new UsageError(`unknown flag --${name}${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
    if (spec.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq === -1 && value.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value (${spec.valueName ?? spec.type})`);
    }
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}; got ${JSON.stringify(value)}`);
    }
    if (spec.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n))
        throw new UsageError(`--${name} must be a number; got ${JSON.stringify(value)}`);
      if (spec.integer && !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer; got ${value}`);
      if (spec.min !== undefined && n < spec.min)
        throw new UsageError(`--${name} must be >= ${spec.min}; got ${value}`);
      flags[name] = n;
    } else if (spec.type === 'integers') {
      flags[name] = parseIntegerList(name, value, spec.minItems ?? 1);
    } else {
      flags[name] = value;
    }
  }
  return { positionals, flags, help };
}

/**
 * A strict comma-separated list of distinct integers ("0,1,2"): no empty items, no spaces inside a number, no
 * decimals or exponents, no duplicates, at least `minItems` values.
 */
export function parseIntegerList(name: string, value: string, minItems = 1): number[] {
  const items = value.split(',').map((s) => s.trim());
  const numbers = items.map((item) => {
    if (!/^-?\d+$/.test(item) || !Number.isSafeInteger(Number(item))) {
      throw new UsageError(
        `--${name} must be a comma-separated list of integers (e.g. 0,1,2); got ${JSON.stringify(item)} in ${JSON.stringify(value)}`,
      );
    }
    return Number(item);
  });
  const duplicate = numbers.find((n, i) => numbers.indexOf(n) !== i);
  if (duplicate !== undefined) throw new UsageError(`--${name} lists ${duplicate} twice; got ${JSON.stringify(value)}`);
  if (numbers.length < minItems) {
    throw new UsageError(`--${name} needs at least ${minItems} values; got ${JSON.stringify(value)}`);
  }
  return numbers;
}

/** The "Options:" block of a --help text. */
export function describeFlags(specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const value =
      spec.type === 'boolean' ? '' : ` <${spec.choices ? spec.choices.join('|') : (spec.valueName ?? spec.type)}>`;
    return [`  --${name}${value}`, spec.description] as const;
  });
  rows.push(['  --help', 'show this help'] as const);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right).join('\n');
}
