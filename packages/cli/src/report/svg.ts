/**
 * Small, dependency-free SVG charts for the run reports: they must render in any browser from a file, offline, so
 * everything is inline and static.
 */

import type { Series } from '@distillery/recipes';

export type { Series };

const PALETTE = [
  '#4e79a7',
  '#e15759',
  '#59a14f',
  '#f28e2b',
  '#76b7b2',
  '#b07aa1',
  '#edc948',
  '#9c755f',
  '#bab0ac',
  '#ff9da7',
];

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const span = max - min;
  const step0 = 10 ** Math.floor(Math.log10(span / count));
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= count) ?? step0 * 10;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3)));

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function axes(frame: Frame, xRange: [number, number], yRange: [number, number], xLabel: string, yLabel: string) {
  const { width, height, left, right, top, bottom } = frame;
  const sx = (v: number) => left + ((v - xRange[0]) / (xRange[1] - xRange[0] || 1)) * (width - left - right);
  const sy = (v: number) =>
    height - bottom - ((v - yRange[0]) / (yRange[1] - yRange[0] || 1)) * (height - top - bottom);
  const parts: string[] = [];
  for (const t of niceTicks(yRange[0], yRange[1])) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(xRange[0], xRange[1])) {
    parts.push(`<text x="${sx(t)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="#333"/>`,
  );
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#333"/>`);
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 4}" text-anchor="middle" font-size="12">${escapeHtml(xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(12 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(yLabel)}</text>`,
  );
  return { sx, sy, parts };
}

function legend(names: string[], x: number, y: number): string {
  return names
    .map(
      (name, i) =>
        `<rect x="${x}" y="${y + i * 16}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/>` +
        `<text x="${x + 14}" y="${y + i * 16 + 9}" font-size="11">${escapeHtml(name)}</text>`,
    )
    .join('');
}

/** Lines of y against x, one per series (loss curves, accuracy curves). */
export function lineChart(
  series: Series[],
  options: { title: string; xLabel: string; yLabel: string; logY?: boolean },
): string {
  const frame = { width: 560, height: 300, left: 56, right: 130, top: 28, bottom: 40 };
  const tr = (v: number) => (options.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y.filter(Number.isFinite).map(tr));
  const xRange: [number, number] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const yRange: [number, number] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (yRange[0] === yRange[1]) yRange[1] = yRange[0] + 1;
  const { sx, sy, parts } = axes(
    frame,
    xRange,
    yRange,
    options.xLabel,
    options.logY ? `log10 ${options.yLabel}` : options.yLabel,
  );
  series.forEach((s, i) => {
    const points = s.x
      .map((x, j) => [x, s.y[j] as number] as const)
      .filter(([, y]) => Number.isFinite(y))
      .map(([x, y]) => `${sx(x).toFixed(1)},${sy(tr(y)).toFixed(1)}`)
      .join(' ');
    parts.push(`<polyline fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2" points="${points}"/>`);
  });
  parts.push(
    legend(
      series.map((s) => s.name),
      frame.width - frame.right + 10,
      frame.top,
    ),
  );
  return svg(frame, options.title, parts);
}

/**
 * Per-class accuracy (bars, one group per class, one bar per model) above the training count of each class (grey
 * line, right axis): how accuracy follows class frequency in a long-tailed run.
 */
export function perClassChart(
  counts: number[],
  accuracy: Record<string, number[]>,
  options: { title: string; classNames?: string[] },
): string {
  const frame = { width: 560, height: 300, left: 56, right: 130, top: 28, bottom: 40 };
  const models = Object.keys(accuracy);
  const { parts } = axes(frame, [0, counts.length], [0, 1], 'class (by index)', 'accuracy');
  const plotW = frame.width - frame.left - frame.right;
  const plotH = frame.height - frame.top - frame.bottom;
  const groupW = plotW / Math.max(counts.length, 1);
  const barW = (groupW * 0.8) / Math.max(models.length, 1);
  models.forEach((model, m) => {
    (accuracy[model] ?? []).forEach((a, c) => {
      const h = Math.max(0, Math.min(1, a)) * plotH;
      const x = frame.left + c * groupW + groupW * 0.1 + m * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(frame.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[m % PALETTE.length]}"><title>${escapeHtml(`${model}, class ${options.classNames?.[c] ?? c}: ${(a * 100).toFixed(1)}%`)}</title></rect>`,
      );
    });
  });
  const maxCount = Math.max(...counts, 1);
  const points = counts
    .map(
      (n, c) =>
        `${(frame.left + (c + 0.5) * groupW).toFixed(1)},${(frame.top + plotH - (n / maxCount) * plotH).toFixed(1)}`,
    )
    .join(' ');
  parts.push(`<polyline fill="none" stroke="#555" stroke-dasharray="4 3" stroke-width="1.5" points="${points}"/>`);
  parts.push(
    `<text x="${frame.width - frame.right + 4}" y="${frame.top + 4}" font-size="11" fill="#555">train count (max ${maxCount})</text>`,
  );
  parts.push(legend(models, frame.width - frame.right + 10, frame.top + 16));
  return svg(frame, options.title, parts);
}

/** A confusion matrix as a heatmap, rows = true class, columns = predicted, shaded by row-normalised share. */
export function confusionHeatmap(matrix: number[][], options: { title: string; labels?: string[] }): string {
  const n = matrix.length;
  const cell = Math.max(10, Math.min(36, Math.floor(360 / Math.max(n, 1))));
  const frame = { width: 80 + n * cell + 20, height: 60 + n * cell + 40, left: 80, right: 20, top: 40, bottom: 40 };
  const parts: string[] = [];
  matrix.forEach((row, i) => {
    const total = row.reduce((s, v) => s + v, 0) || 1;
    row.forEach((v, j) => {
      const share = v / total;
      const shade = Math.round(255 - share * 200);
      const fill = i === j ? `rgb(${shade},${Math.round(255 - share * 120)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(
        `<rect x="${frame.left + j * cell}" y="${frame.top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"><title>${escapeHtml(`true ${options.labels?.[i] ?? i} → predicted ${options.labels?.[j] ?? j}: ${v}`)}</title></rect>`,
      );
      if (cell >= 22 && v > 0) {
        parts.push(
          `<text x="${frame.left + j * cell + cell / 2}" y="${frame.top + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="10">${v}</text>`,
        );
      }
    });
    parts.push(
      `<text x="${frame.left - 6}" y="${frame.top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${escapeHtml(options.labels?.[i] ?? String(i))}</text>`,
    );
    parts.push(
      `<text x="${frame.left + i * cell + cell / 2}" y="${frame.top + n * cell + 14}" text-anchor="middle" font-size="11">${escapeHtml(options.labels?.[i] ?? String(i))}</text>`,
    );
  });
  parts.push(
    `<text x="${frame.left + (n * cell) / 2}" y="${frame.top + n * cell + 32}" text-anchor="middle" font-size="12">predicted</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${frame.top + (n * cell) / 2}) rotate(-90)" text-anchor="middle" font-size="12">true</text>`,
  );
  return svg(frame, options.title, parts);
}

/** A heatmap of any matrix (e.g. an OT transport plan), shaded from white to blue by value. */
export function matrixHeatmap(matrix: number[][], options: { title: string; xLabel: string; yLabel: string }): string {
  const rows = matrix.length;
  const cols = matrix[0]?.length ?? 0;
  const cw = Math.max(2, Math.min(24, Math.floor(400 / Math.max(cols, 1))));
  const ch = Math.max(2, Math.min(24, Math.floor(300 / Math.max(rows, 1))));
  const frame = { width: 60 + cols * cw + 20, height: 40 + rows * ch + 40, left: 60, right: 20, top: 40, bottom: 40 };
  const max = Math.max(...matrix.flat(), 1e-30);
  const parts: string[] = [];
  matrix.forEach((row, i) => {
    row.forEach((v, j) => {
      const s = Math.max(0, v) / max;
      parts.push(
        `<rect x="${frame.left + j * cw}" y="${frame.top + i * ch}" width="${cw}" height="${ch}" fill="rgb(${Math.round(255 - s * 200)},${Math.round(255 - s * 150)},255)"/>`,
      );
    });
  });
  parts.push(
    `<text x="${frame.left + (cols * cw) / 2}" y="${frame.top + rows * ch + 24}" text-anchor="middle" font-size="12">${escapeHtml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(30 ${frame.top + (rows * ch) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(options.yLabel)}</text>`,
  );
  return svg(frame, options.title, parts);
}

function svg(frame: { width: number; height: number }, title: string, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" viewBox="0 0 ${frame.width} ${frame.height}" font-family="system-ui, sans-serif" role="img" aria-label="${escapeHtml(title)}"><text x="${frame.width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="600">${escapeHtml(title)}</text>${parts.join('')}</svg>`;
}

export { escapeHtml };
