import type { RecipeClaim, RecipeEvidence } from '@distillery/recipes';
import { describeValue, invalid } from '@distillery/tensor/errors';

/** One metric over the seeds, as summary.json holds it. */
interface Statistic {
  mean: number;
  std: number;
  values: number[];
}

/** How a paper's ordering fared over the seeds. */
export interface ClaimVerdict extends RecipeClaim {
  /** 'every seed': better + margin > worse on each seed; 'mean only': on the mean, not on every seed; 'not at all': not on the mean. */
  verdict: 'every seed' | 'mean only' | 'not at all';
  /** Seeds on which better > worse, of `seeds`. */
  heldOn: number;
  seeds: number;
  /** mean(better) − mean(worse). */
  meanGap: number;
}

/**
 * The verdict of each claim on the per-seed values of a summary's metrics. A claim whose metrics are missing is a
 * DistilleryError naming it (a renamed metric must not pass as "not at all").
 */
export function checkClaims(metrics: Readonly<Record<string, Statistic>>, claims: readonly RecipeClaim[]) {
  return claims.map((c): ClaimVerdict => {
    const [better, worse] = [metricOf(metrics, c.better, c.claim), metricOf(metrics, c.worse, c.claim)];
    const margin = c.margin ?? 0;
    const heldOn = better.values.filter((v, i) => v + margin > worse.values[i]!).length;
    const seeds = better.values.length;
    const meanGap = better.mean - worse.mean;
    const verdict = heldOn === seeds ? 'every seed' : meanGap + margin > 0 ? 'mean only' : 'not at all';
    return { ...c, verdict, heldOn, seeds, meanGap };
  });
}

function metricOf(metrics: Readonly<Record<string, Statistic>>, key: string, claim: string): Statistic {
  const m = metrics[key];
  if (!m) throw invalid('INVALID_ARGUMENT', 'summary.metrics', `the metric "${key}" of the claim "${claim}"`, 'none');
  return m;
}

/** Row key + column key; an empty column key names the row's own metric. */
const metricKey = (row: string, column: string) => (column === '' ? row : `${row}.${column}`);
const cell = (m: Statistic | undefined) => (m ? `${m.mean.toFixed(3)} ± ${m.std.toFixed(3)}` : '—');

/**
 * The README's evidence in markdown: a table of mean ± std over the seeds (rows × columns of the recipe's evidence
 * spec), then each claim with its per-seed verdict. `distillery run --seeds` writes it as evidence.md beside
 * summary.json; `distillery evidence <summary.json>` prints it again.
 */
export function evidenceMarkdown(
  summary: { recipe: string; seeds: readonly number[]; data?: string; metrics: Readonly<Record<string, Statistic>> },
  evidence: RecipeEvidence,
): string {
  if (!summary || typeof summary !== 'object' || typeof summary.metrics !== 'object' || !summary.metrics) {
    throw invalid('INVALID_ARGUMENT', 'summary', 'a summary.json of `distillery run --seeds`', describeValue(summary));
  }
  const { metrics, seeds } = summary;
  const lines = markdownTable(
    ['', ...evidence.columns.map((c) => c.label)],
    evidence.rows.map((r) => [r.label, ...evidence.columns.map((c) => cell(metrics[metricKey(r.key, c.key)]))]),
  );
  const claimLines = markdownTable(
    ['claim', 'held', 'seeds where it held', 'mean gap'],
    checkClaims(metrics, evidence.claims).map((v) => [
      v.claim,
      v.verdict,
      `${v.heldOn} of ${v.seeds}`,
      `${v.meanGap >= 0 ? '+' : ''}${v.meanGap.toFixed(3)}`,
    ]),
  );
  const data = summary.data === undefined ? '' : ` on --data ${summary.data}`;
  return [
    `Mean ± sample std (n − 1) over seeds ${seeds.join(', ')}${data} (\`distillery run ${summary.recipe}${data.replace(' on', '')} --seeds ${seeds.join(',')}\`):`,
    '',
    ...lines,
    '',
    ...claimLines,
    '',
  ].join('\n');
}

/** A markdown table with its columns padded to one width (as formatters print it, so a README stays lint-clean). */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
