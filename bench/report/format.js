// Text helpers shared by the console output and the Markdown report: numbers a reader can scan
// (thousands separators, no spurious decimals) and Markdown tables padded so they also line up
// in a terminal.

/** A number for a table cell: 3 significant digits below 100, whole numbers above. */
export function formatNumber(value) {
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (Number.isInteger(value) || abs >= 100)
    return Math.round(value).toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(3);
}

/** A cell never breaks the table: pipes are escaped and line breaks become spaces. */
function cell(value) {
  return formatNumber(value).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * A Markdown table; numeric columns are right-aligned.
 * @param {string[]} columns
 * @param {(string | number)[][]} rows
 */
export function markdownTable(columns, rows) {
  const numeric = columns.map(
    (_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'),
  );
  const text = [columns.map(cell), ...rows.map((row) => columns.map((_, i) => cell(row[i] ?? '')))];
  const widths = columns.map((_, i) => Math.max(3, ...text.map((row) => row[i].length)));
  const line = (row) =>
    `| ${row.map((value, i) => (numeric[i] ? value.padStart(widths[i]) : value.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(text[0]), rule, ...text.slice(1).map(line)].join('\n');
}

/** "x" for ratios: 12.3x reads better than 12.3 in a ratio column. */
export function formatRatio(value) {
  if (!Number.isFinite(value)) return 'n/a';
  // Three significant digits whatever the size: 1.00x, 12.5x, 0.690x, 1,234x.
  return `${Math.abs(value) >= 100 || value === 0 ? formatNumber(value) : value.toPrecision(3)}x`;
}

/** Signed percentage, e.g. "+12.5 %", "-31.0 %". */
export function formatPercent(fraction) {
  if (!Number.isFinite(fraction)) return 'n/a';
  const percent = fraction * 100;
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)} %`;
}

/** Seconds for the timing table. */
export function formatSeconds(seconds) {
  return Number.isFinite(seconds) ? `${seconds.toFixed(1)} s` : 'n/a';
}
