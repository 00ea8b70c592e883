/** One line of a chart: a name and its points. */
export interface Series {
  name: string;
  x: number[];
  y: number[];
}

/** Per-class accuracy of one or more models against the training count of each class. */
export interface PerClassPanel {
  /** Default: 'per-class accuracy vs. class frequency'. */
  title?: string;
  counts: number[];
  accuracy: Record<string, number[]>;
  classNames?: string[];
}

/** Everything a run report shows. Every field but `title` is optional. */
export interface RunReport {
  title: string;
  description?: string;
  /** What the paper reports, for context beside this run's numbers. */
  paperNote?: string;
  config?: Record<string, unknown>;
  /** The results table (also printed on the terminal). */
  table?: { headers: string[]; rows: (string | number)[][] };
  /** Training curves, one chart per key (e.g. "loss"), one line per model. */
  curves?: Record<string, Series[]>;
  /** Per-class accuracy against the training count of each class: one panel, or several (e.g. one per training set). */
  perClass?: PerClassPanel | PerClassPanel[];
  confusion?: { title: string; matrix: number[][]; labels?: string[] }[];
  heatmaps?: { title: string; matrix: number[][]; xLabel: string; yLabel: string }[];
  notes?: string[];
}
