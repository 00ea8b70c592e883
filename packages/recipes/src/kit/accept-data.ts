import { checkOptions, describeValue, invalid } from '@distillery/tensor/errors';

export interface AcceptDataOptions {
  /** The dataset names the recipe knows; the first is the default (when --data is not given). */
  names: readonly string[];
  /** Whether any other non-empty string is taken as a path for the recipe to read (default false: refused). */
  paths?: boolean;
}

/**
 * The one place a recipe accepts or refuses `--data` (`ctx.data`): the default name when it is not given, a known
 * name as it is, another non-empty string as a path when `paths` is set; anything else is a DistilleryError naming
 * `--data` with what the recipe accepts.
 *
 *     const data = acceptData(ctx.data, { names: ['digits'] }); // 'digits', or throws for --data cifar10
 */
export function acceptData(data: string | undefined, options: AcceptDataOptions): string {
  const { names, paths = false } = checkOptions<AcceptDataOptions>(options ?? null, {
    names: true,
    paths: [true, false],
  });
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || n === '')) {
    throw invalid('INVALID_ARGUMENT', 'options.names', 'a non-empty array of dataset names', describeValue(names));
  }
  if (data === undefined) return names[0] as string;
  const expected = `${names.length === 1 ? '' : 'one of '}${names.map((n) => `'${n}'`).join(', ')}${paths ? ' or a path' : ''}`;
  if (typeof data !== 'string' || data === '')
    throw invalid('INVALID_ARGUMENT', '--data', expected, describeValue(data));
  if (names.includes(data) || paths) return data;
  throw invalid('INVALID_ARGUMENT', '--data', expected, JSON.stringify(data));
}
