/**
 * Strict options: the one helper every public options object goes through. An unknown key (a typo such as
 * `temprature`) or a value outside a declared enum is a DistilleryError naming the key and the valid choices,
 * never an ignored option. This module imports no tensor library (it is part of `@distillery/tensor/errors`).
 */
import { DistilleryError, describeValue } from './errors';

/** A primitive that can be an enum member. */
export type OptionValue = string | number | boolean;

/**
 * The declared keys of an options type `T`. Every key of `T` must be listed (the compiler checks it): `true` for a
 * key whose value the caller range-checks itself, or the readonly array of its allowed values for an enum.
 */
export type OptionsSpec<T> = {
  readonly [K in keyof Required<T>]: true | readonly Extract<NonNullable<T[K]>, OptionValue>[];
};

/** Levenshtein distance, for "did you mean" hints on short option names. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The closest candidate within a third of the name's length (at least 2 edits), or undefined. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(name.replace(/[-_]/g, ''), candidate.replace(/[-_]/g, ''));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function formatChoices(values: readonly OptionValue[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

/**
 * A value that must be one of `allowed`. Returns it, typed, for chaining.
 *
 *     const reduction = checkEnum(options.reduction ?? 'mean', 'options.reduction', ['mean', 'sum', 'none']);
 */
export function checkEnum<V extends OptionValue>(value: unknown, argument: string, allowed: readonly V[]): V {
  if (!allowed.includes(value as V)) {
    const hint = typeof value === 'string' ? closestName(value, allowed.map(String)) : undefined;
    const expected = `one of ${formatChoices(allowed)}`;
    const actual = describeValue(value);
    throw new DistilleryError(
      'INVALID_ARGUMENT',
      `${argument}: expected ${expected}, got ${actual}${hint !== undefined ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`,
      { argument, expected, actual },
    );
  }
  return value as V;
}

/**
 * Checks an options object against its declared keys and enum values and returns it typed. `undefined` is `{}`;
 * anything other than a plain object, an unknown key, or an enum value outside its list throws a DistilleryError
 * (`INVALID_ARGUMENT`) that names the key and lists the valid ones. A key set to `undefined` means "the default".
 *
 *     const { temperature = 4 } = checkOptions<KdLossOptions>(options, { temperature: true, checkFinite: true });
 *
 * @param argument  how the object is named in messages (default `options`; e.g. `fit options`, `options.sam`)
 */
export function checkOptions<T extends object>(options: unknown, spec: OptionsSpec<T>, argument = 'options'): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    const actual = describeValue(options);
    throw new DistilleryError('INVALID_ARGUMENT', `${argument}: expected an options object, got ${actual}`, {
      argument,
      expected: 'an options object',
      actual,
    });
  }
  const declared = Object.keys(spec);
  for (const key of Object.keys(options)) {
    const name = `${argument}.${key}`;
    if (!Object.hasOwn(spec, key)) {
      const hint = closestName(key, declared);
      const expected = declared.length ? `one of the keys ${declared.join(', ')}` : 'no options';
      throw new DistilleryError(
        'INVALID_ARGUMENT',
        `${name}: unknown option${hint !== undefined ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; expected ${expected}`,
        { argument: name, expected, actual: `an unknown key ${JSON.stringify(key)}` },
      );
    }
    const rule = (spec as Record<string, true | readonly OptionValue[]>)[key];
    const value = (options as Record<string, unknown>)[key];
    if (rule !== true && rule !== undefined && value !== undefined) checkEnum(value, name, rule);
  }
  return options as T;
}
