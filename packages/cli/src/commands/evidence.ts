import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getRecipe } from '@distillery/recipes';
import { DistilleryError } from '@distillery/tensor/errors';
import { evidenceMarkdown } from '../evidence';

/**
 * `distillery evidence <summary.json | the --seeds run folder> [--readme FILE]`: the recipe's evidence table and
 * claims (markdown) from the summary of a multi-seed run, printed, or written into the README's evidence block. Exit 1 with one line when the file is missing or not a
 * summary, or when the recipe has no evidence spec for that data.
 */
export function evidenceCommand(target: string, out: (line: string) => void, readme?: string): number {
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
  const markdown = evidenceMarkdown(summary as Parameters<typeof evidenceMarkdown>[0], evidence!);
  if (readme === undefined) out(markdown);
  else {
    writeFileSync(readme, replaceEvidenceBlock(readFileSync(readme, 'utf8'), data, markdown, readme));
    out(`${readme}: evidence for --data ${data} updated from ${file}`);
  }
  return 0;
}

/**
 * The README with the text between `<!-- evidence: DATA -->` and `<!-- /evidence: DATA -->` replaced by `markdown`
 * (the markers stay, so the next run replaces it again). Missing markers are an error naming the README.
 */
export function replaceEvidenceBlock(text: string, data: string, markdown: string, readme = 'README'): string {
  const [open, close] = [`<!-- evidence: ${data} -->`, `<!-- /evidence: ${data} -->`];
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) {
    throw new DistilleryError('INVALID_ARGUMENT', `${readme}: no "${open}" … "${close}" block to fill`, {
      argument: 'readme',
    });
  }
  return `${text.slice(0, start + open.length)}\n${markdown}${text.slice(end)}`;
}
