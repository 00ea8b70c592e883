/** A plain-text table for terminals: columns padded, numbers right-aligned, fractions shown as percentages. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((row) =>
    row.map((v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v)),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[], numeric: boolean[]) =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number))).join('  ');
  const numericCols = headers.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  return [
    line(headers, numericCols),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((r) => line(r, numericCols)),
  ].join('\n');
}
