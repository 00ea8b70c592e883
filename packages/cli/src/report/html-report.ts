import type { RunReport } from '@distillery/recipes';
import { confusionHeatmap, escapeHtml, lineChart, matrixHeatmap, perClassChart } from './svg';

export type { RunReport };

const cellText = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v);

/** A self-contained HTML page (inline CSS and SVG, no scripts, no network) a person can open from disk. */
export function renderHtmlReport(report: RunReport): string {
  const sections: string[] = [];
  if (report.description) sections.push(`<p>${escapeHtml(report.description)}</p>`);
  if (report.table) {
    const head = report.table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
    const body = report.table.rows
      .map((row) => `<tr>${row.map((v) => `<td>${escapeHtml(cellText(v))}</td>`).join('')}</tr>`)
      .join('');
    sections.push(`<h2>Results</h2><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`);
  }
  if (report.paperNote) sections.push(`<p class="note"><strong>Paper:</strong> ${escapeHtml(report.paperNote)}</p>`);
  const charts: string[] = [];
  for (const [name, series] of Object.entries(report.curves ?? {})) {
    if (series.length) charts.push(lineChart(series, { title: name, xLabel: 'epoch', yLabel: name }));
  }
  const perClass =
    report.perClass === undefined ? [] : Array.isArray(report.perClass) ? report.perClass : [report.perClass];
  for (const panel of perClass) {
    charts.push(
      perClassChart(panel.counts, panel.accuracy, {
        title: panel.title ?? 'per-class accuracy vs. class frequency',
        classNames: panel.classNames,
      }),
    );
  }
  for (const c of report.confusion ?? []) charts.push(confusionHeatmap(c.matrix, { title: c.title, labels: c.labels }));
  for (const h of report.heatmaps ?? []) charts.push(matrixHeatmap(h.matrix, h));
  if (charts.length)
    sections.push(`<h2>Plots</h2><div class="charts">${charts.map((c) => `<figure>${c}</figure>`).join('')}</div>`);
  if (report.notes?.length)
    sections.push(`<h2>Notes</h2><ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  if (report.config) {
    const rows = Object.entries(report.config)
      .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(JSON.stringify(v))}</code></td></tr>`)
      .join('');
    sections.push(`<h2>Configuration</h2><table class="config">${rows}</table>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}
th{background:#f6f6f6}table.config th,table.config td{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;border:1px solid #eee;padding:.5rem}
.note{background:#f7f7fb;padding:.5rem .8rem;border-left:3px solid #4e79a7}
</style></head>
<body><h1>${escapeHtml(report.title)}</h1>
${sections.join('\n')}
<footer><p><small>Written by Distillery.</small></p></footer>
</body></html>
`;
}
