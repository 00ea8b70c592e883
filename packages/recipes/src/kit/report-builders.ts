import { checkOptions, describeValue, invalid } from '@distillery/tensor/errors';
import type { PerClassPanel, Series } from '../report';

/** A trained run as the report builders see it: a name and fit's per-epoch records. */
export interface RunHistory {
  name: string;
  history: readonly { epoch: number; [metric: string]: number }[];
}

/**
 * Training curves, one chart per entry of `charts` (title → the epoch record's key), one line per run, x = epoch
 * (1-based). A run whose records lack the key is an error, not a silent gap.
 *
 *     historyCurves(runs, { 'test accuracy': 'testAccuracy', 'training loss': 'loss' })
 */
export function historyCurves(
  runs: readonly RunHistory[],
  charts: Readonly<Record<string, string>>,
): Record<string, Series[]> {
  if (!Array.isArray(runs))
    throw invalid('INVALID_ARGUMENT', 'runs', 'an array of { name, history }', describeValue(runs));
  if (charts === null || typeof charts !== 'object' || Array.isArray(charts)) {
    throw invalid('INVALID_ARGUMENT', 'charts', 'an object { title: record key }', describeValue(charts));
  }
  const out: Record<string, Series[]> = {};
  for (const [title, key] of Object.entries(charts)) {
    out[title] = runs.map((run, i) => {
      if (!run || typeof run.name !== 'string' || !Array.isArray(run.history)) {
        throw invalid('INVALID_ARGUMENT', `runs[${i}]`, '{ name, history }', describeValue(run));
      }
      const history: RunHistory['history'] = run.history;
      return {
        name: run.name,
        x: history.map((h) => h.epoch + 1),
        y: history.map((h, e) => {
          const v = h[key];
          if (typeof v !== 'number') {
            throw invalid('INVALID_ARGUMENT', `runs[${i}].history[${e}].${key}`, 'a number', describeValue(v));
          }
          return v;
        }),
      };
    });
  }
  return out;
}

export interface PerClassBarsOptions {
  /** Training images per class (the x order and the bars' context). */
  counts: readonly number[];
  /** Per-class accuracy of each model, by the name the legend shows. */
  accuracy: Readonly<Record<string, readonly number[]>>;
  /** The panel's title (default: the renderer's). */
  title?: string;
  classNames?: readonly string[];
}

/** A per-class accuracy panel (bars per class and model, against the class's training count), checked. */
export function perClassBars(options: PerClassBarsOptions): PerClassPanel {
  const o = checkOptions<PerClassBarsOptions>(options ?? null, {
    counts: true,
    accuracy: true,
    title: true,
    classNames: true,
  });
  if (!Array.isArray(o.counts) || o.counts.some((c) => !Number.isInteger(c) || c < 0)) {
    throw invalid('INVALID_ARGUMENT', 'options.counts', 'an array of class counts', describeValue(o.counts));
  }
  if (o.accuracy === null || typeof o.accuracy !== 'object') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.accuracy',
      'an object { model: per-class accuracy }',
      describeValue(o.accuracy),
    );
  }
  for (const [name, acc] of Object.entries(o.accuracy)) {
    if (!Array.isArray(acc) || acc.length !== o.counts.length) {
      throw invalid(
        'INVALID_ARGUMENT',
        `options.accuracy.${name}`,
        `${o.counts.length} per-class accuracies`,
        describeValue(acc),
      );
    }
  }
  if (o.classNames !== undefined && (!Array.isArray(o.classNames) || o.classNames.length !== o.counts.length)) {
    throw invalid('INVALID_ARGUMENT', 'options.classNames', `${o.counts.length} names`, describeValue(o.classNames));
  }
  return {
    ...(o.title !== undefined ? { title: o.title } : {}),
    counts: [...o.counts],
    accuracy: Object.fromEntries(Object.entries(o.accuracy).map(([k, v]) => [k, [...v]])),
    ...(o.classNames ? { classNames: [...o.classNames] } : {}),
  };
}

/** A results-table row of a long-tail evaluation: `[...label cells, overall, head, mid, tail]`. */
export function groupRow(
  labels: string | readonly string[],
  evaluation: { overall: number; head?: number; mid?: number; tail?: number },
): (string | number)[] {
  const e = evaluation;
  if (!e || typeof e.overall !== 'number' || [e.head, e.mid, e.tail].some((v) => typeof v !== 'number')) {
    throw invalid(
      'INVALID_ARGUMENT',
      'evaluation',
      'an evaluation with overall, head, mid and tail (evaluateClassifier with cutpoints)',
      describeValue(e),
    );
  }
  return [...(typeof labels === 'string' ? [labels] : labels), e.overall, e.head!, e.mid!, e.tail!];
}
