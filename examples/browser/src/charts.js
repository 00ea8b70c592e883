// Small canvas charts: line curves (training), grouped bars (soft labels), a heatmap (transport plan) and a digit.

export const PALETTE = ['#3056d3', '#e8590c', '#2f9e44', '#ae3ec9', '#d6336c', '#0c8599', '#f08c00', '#5c7cfa'];
const INK = '#1d2433';
const MUTED = '#5b6478';
const GRID = '#e3e7ef';
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/**
 * Sizes a canvas' backing store to its CSS box × devicePixelRatio (crisp text at any width) and returns a context
 * that draws in CSS pixels, with the box's width and height.
 */
function prepare(canvas) {
  const dpr = globalThis.devicePixelRatio || 1;
  const W = canvas.clientWidth || canvas.width;
  const H = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  return { ctx, W, H };
}

function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** A tick label with the fewest decimals that write every tick of the axis exactly. */
function formatTick(v, ticks) {
  let d = 0;
  while (d < 4 && ticks.some((t) => Math.abs(Number(t.toFixed(d)) - t) > 1e-9)) d++;
  return v.toFixed(d);
}

/** One panel of line curves with axes; `series` = [{ name, color, points: [[x, y], …] }]. */
function drawPanel(ctx, box, title, series, yRange) {
  const { x: left, y: top, w, h } = box;
  const legend = series.length > 1;
  const pad = { l: 44, r: 14, t: legend ? 42 : 26, b: 34 };
  const px = left + pad.l;
  const py = top + pad.t;
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const points = series.flatMap((s) => s.points);
  const xMax = Math.max(2, ...points.map((p) => p[0]));
  let yMin = yRange?.[0] ?? Math.min(...points.map((p) => p[1]));
  let yMax = yRange?.[1] ?? Math.max(...points.map((p) => p[1]));
  if (!yRange) {
    const span = yMax - yMin || Math.abs(yMax) || 1;
    yMin = Math.max(0, yMin - span * 0.1);
    yMax += span * 0.1;
  }
  const sx = (x) => px + ((x - 1) / (xMax - 1)) * pw;
  const sy = (y) => py + ph - ((y - yMin) / (yMax - yMin || 1)) * ph;

  ctx.font = `600 ${FONT}`;
  ctx.fillStyle = INK;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(title, px, top + 16);
  ctx.font = FONT;
  if (legend) {
    let lx = px;
    ctx.textBaseline = 'middle';
    for (const s of series) {
      const label = s.name.length > 18 ? `${s.name.slice(0, 17)}…` : s.name;
      const width = 16 + ctx.measureText(label).width + 12;
      if (lx + width > left + w) break;
      ctx.fillStyle = s.color;
      ctx.fillRect(lx, top + 27, 10, 8);
      ctx.fillStyle = MUTED;
      ctx.fillText(label, lx + 14, top + 31);
      lx += width;
    }
  }
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const yTicks = niceTicks(yMin, yMax);
  for (const t of yTicks) {
    ctx.beginPath();
    ctx.moveTo(px, sy(t));
    ctx.lineTo(px + pw, sy(t));
    ctx.stroke();
    ctx.fillText(formatTick(t, yTicks), px - 6, sy(t));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of niceTicks(1, xMax, Math.min(8, xMax - 1)).filter((t) => Number.isInteger(t))) {
    ctx.fillText(String(t), sx(t), py + ph + 6);
  }
  ctx.fillText('epoch', px + pw / 2, py + ph + 17);
  ctx.strokeStyle = MUTED;
  ctx.beginPath();
  ctx.moveTo(px, py);
  ctx.lineTo(px, py + ph);
  ctx.lineTo(px + pw, py + ph);
  ctx.stroke();

  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => {
      if (i === 0) ctx.moveTo(sx(x), sy(y));
      else ctx.lineTo(sx(x), sy(y));
    });
    ctx.stroke();
    for (const [x, y] of s.points) {
      ctx.beginPath();
      ctx.arc(sx(x), sy(y), 3.5, 0, Math.PI * 2);
      ctx.fill();
    }
  }
}

/** Is this record key an accuracy-like metric (drawn in its own panel, 0–1)? */
export const isAccuracyKey = (key) => /acc|top1/i.test(key);

/**
 * Training curves from epoch records: `runs` maps a run name to its records ({ epoch, loss, …metrics }). Each run's
 * loss gets its own panel (runs differ in scale: LDAM's s = 30 logits vs. cross-entropy); accuracy-like metrics, when
 * any run reports them, share a last panel on 0–1.
 */
export function drawCurves(canvas, runs) {
  const { ctx, W, H } = prepare(canvas);
  const names = [...runs.keys()];
  if (names.length === 0) {
    ctx.fillStyle = MUTED;
    ctx.font = FONT;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('Loss curves appear here after the first epoch.', W / 2, H / 2);
    return;
  }
  const color = (i) => PALETTE[i % PALETTE.length];
  const panels = names.map((name, i) => ({
    title: `${name} · loss`,
    series: [{ name, color: color(i), points: runs.get(name).map((r) => [r.epoch + 1, r.loss]) }],
  }));
  const accuracy = names.flatMap((name, i) => {
    const records = runs.get(name);
    const keys = [...new Set(records.flatMap((r) => Object.keys(r).filter(isAccuracyKey)))];
    return keys.map((key) => ({
      name: keys.length > 1 ? `${name} ${key}` : name,
      color: color(i),
      points: records.filter((r) => Number.isFinite(r[key])).map((r) => [r.epoch + 1, r[key]]),
    }));
  });
  if (accuracy.length > 0) panels.push({ title: 'accuracy', series: accuracy, range: [0, 1] });
  const perRow = Math.min(panels.length, Math.max(1, Math.floor(W / 240)));
  const rows = Math.ceil(panels.length / perRow);
  const w = W / perRow;
  const h = H / rows;
  panels.forEach((panel, k) => {
    const box = { x: (k % perRow) * w, y: Math.floor(k / perRow) * h, w, h };
    drawPanel(ctx, box, panel.title, panel.series, panel.range);
  });
}

/**
 * The curves of a finished run's report (`RecipeResult.report.curves`: chart title → [{ name, x, y }]), for recipes
 * that do not report their epochs live: one panel per chart, one line per model.
 */
export function drawReportCurves(canvas, curves) {
  const { ctx, W, H } = prepare(canvas);
  const panels = Object.entries(curves ?? {})
    .filter(([, series]) => series.length > 0)
    .map(([title, series]) => ({
      title,
      series: series.map((c, i) => ({
        name: c.name,
        color: PALETTE[i % PALETTE.length],
        points: c.x.map((x, k) => [x, c.y[k]]).filter((p) => Number.isFinite(p[1])),
      })),
      range: isAccuracyKey(title) ? [0, 1] : undefined,
    }));
  if (panels.length === 0) return false;
  const w = W / panels.length;
  panels.forEach((panel, k) => {
    drawPanel(ctx, { x: k * w, y: 0, w, h: H }, panel.title, panel.series, panel.range);
  });
  return true;
}

/** Grouped bars over classes: `series` = [{ name, color, values }]; `target` gets a marker under its label. */
export function drawBars(canvas, classNames, series, target) {
  const { ctx, W, H } = prepare(canvas);
  const pad = { l: 40, r: 10, t: 28, b: 26 };
  const pw = W - pad.l - pad.r;
  const ph = H - pad.t - pad.b;
  const yMax = Math.max(0.05, ...series.flatMap((s) => [...s.values]));
  const sy = (v) => pad.t + ph - (v / yMax) * ph;
  ctx.font = FONT;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const yTicks = niceTicks(0, yMax, 4);
  for (const t of yTicks) {
    ctx.beginPath();
    ctx.moveTo(pad.l, sy(t));
    ctx.lineTo(W - pad.r, sy(t));
    ctx.stroke();
    ctx.fillText(formatTick(t, yTicks), pad.l - 6, sy(t));
  }
  const group = pw / classNames.length;
  const barW = (group * 0.8) / series.length;
  classNames.forEach((name, c) => {
    series.forEach((s, k) => {
      const x = pad.l + c * group + group * 0.1 + k * barW;
      ctx.fillStyle = s.color;
      ctx.fillRect(x, sy(s.values[c]), barW - 1, pad.t + ph - sy(s.values[c]));
    });
    ctx.fillStyle = c === target ? INK : MUTED;
    ctx.font = c === target ? `700 ${FONT}` : FONT;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(c === target ? `${name} ★` : name, pad.l + (c + 0.5) * group, pad.t + ph + 6);
  });
  ctx.font = FONT;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let x = pad.l;
  for (const s of series) {
    ctx.fillStyle = s.color;
    ctx.fillRect(x, 9, 12, 10);
    ctx.fillStyle = INK;
    ctx.fillText(s.name, x + 18, 14);
    x += 18 + ctx.measureText(s.name).width + 18;
  }
}

/** Heatmap of a non-negative matrix (rows × cols), with row labels on the left; `separators` = column boundaries. */
export function drawHeatmap(canvas, matrix, rowLabels, separators = []) {
  const { ctx, W, H } = prepare(canvas);
  const rows = matrix.length;
  const cols = matrix[0].length;
  const pad = { l: 130, r: 10, t: 8, b: 24 };
  const cw = (W - pad.l - pad.r) / cols;
  const ch = (H - pad.t - pad.b) / rows;
  const max = Math.max(...matrix.flat());
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const t = Math.sqrt(matrix[i][j] / max);
      // White → deep blue.
      const r = Math.round(255 - t * (255 - 22));
      const g = Math.round(255 - t * (255 - 56));
      const b = Math.round(255 - t * (255 - 160));
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(pad.l + j * cw, pad.t + i * ch, Math.ceil(cw), Math.ceil(ch));
    }
  }
  ctx.strokeStyle = INK;
  ctx.lineWidth = 1.5;
  for (const s of separators) {
    ctx.beginPath();
    ctx.moveTo(pad.l + s * cw, pad.t);
    ctx.lineTo(pad.l + s * cw, H - pad.b);
    ctx.stroke();
  }
  ctx.font = FONT;
  ctx.fillStyle = INK;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  rowLabels.forEach((label, i) => {
    ctx.fillText(label, pad.l - 8, pad.t + (i + 0.5) * ch);
  });
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText('points, sorted by true cluster →', pad.l + (W - pad.l - pad.r) / 2, H - pad.b + 6);
}

/** An 8×8 (or any square) grayscale image in [0, 1], dark ink on white. */
export function drawDigit(canvas, pixels, size) {
  const ctx = canvas.getContext('2d');
  const cell = canvas.width / size;
  for (let i = 0; i < size * size; i++) {
    const v = Math.round(255 * (1 - Math.min(1, Math.max(0, pixels[i]))));
    ctx.fillStyle = `rgb(${v},${v},${v})`;
    ctx.fillRect((i % size) * cell, Math.floor(i / size) * cell, Math.ceil(cell), Math.ceil(cell));
  }
}
