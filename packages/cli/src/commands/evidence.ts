import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { getRecipe } from '@distillery/recipes';
import { DistilleryError } from '@distillery/tensor/errors';
import { evidenceMarkdown } from '../evidence';

/**
 * `distillery evidence <summary.json | the --seeds run folder>`: the recipe's evidence table and claims (markdown,
 * for its README) from the summary of a multi-seed run. Exit 1 with one line when the file is missing or not a
 * summary, or when the recipe has no evidence spec for that data.
 */
export function evidenceCommand(target: string, out: (line: string) => void): number {
  const file = existsSync(target) && statSync(target).isDirectory() ? path.join(target, 'summary.json') : target;
  const fail = (why: string) => {
    throw new DistilleryError('INVALID_ARGUMENT', `${file}: ${why}`, { argument: 'summary' });
  };
  if (!existsSync(file)) fail('no such file (run `distillery run <recipe> --seeds 0,1,2` first)');
  let summary: { recipe?: unknown; data?: unknown; seeds?: unknown; metrics?: unknown };
  try {
    summary = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return fail(`not JSON (${(error as Error).message})`);
  }
  if (typeof summary?.recipe !== 'string' || !Array.isArray(summary.seeds) || typeof summary.metrics !== 'object') {
    fail('not a summary.json of `distillery run --seeds` (recipe, seeds and metrics expected)');
  }
  const recipe = getRecipe(summary.recipe as string);
  const data = typeof summary.data === 'string' ? summary.data : 'digits';
  const evidence = recipe.evidence?.[data];
  if (!evidence) {
    const known = Object.keys(recipe.evidence ?? {});
    fail(
      `recipe ${recipe.name} states no claims for --data ${data}${known.length ? ` (it does for: ${known.join(', ')})` : ''}`,
    );
  }
  out(evidenceMarkdown(summary as Parameters<typeof evidenceMarkdown>[0], evidence!));
  return 0;
}
