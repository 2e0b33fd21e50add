/** One column of a text table. */
export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: 'left' | 'right';
  /** Longer cells are cut with an ellipsis. */
  maxWidth?: number;
  /** Colours the padded cell (after measuring, so escape codes never skew the widths). */
  paint?: (cell: string, row: Row) => string;
}

const GAP = '  ';

/**
 * A plain aligned text table: a header line, then one line per row, columns separated by two
 * spaces, no trailing spaces. Cells are made printable (see `printable`). Widths count code
 * points, so East Asian wide characters and emoji may misalign; the text stays intact.
 */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => truncate(printable(column.value(row)), column.maxWidth)),
  );
  const widths = columns.map((column, i) =>
    Math.max(width(column.header), ...cells.map((line) => width(line[i] ?? ''))),
  );
  const render = (line: readonly string[], row?: Row): string =>
    line
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - width(cell));
        const paint = columns[i]?.paint;
        const shown = row === undefined || paint === undefined ? cell : paint(cell, row);
        return columns[i]?.align === 'right' ? pad + shown : shown + pad;
      })
      .join(GAP)
      .trimEnd();
  return [
    render(columns.map((column) => column.header)),
    ...cells.map((line, i) => render(line, rows[i])),
  ].join('\n');
}

/**
 * Text from the server (commit messages, authors, reasons) made safe for a terminal: control
 * characters, including escape sequences a hostile commit message could carry, become spaces.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

/** The first line of a (commit) message, trimmed. */
export function firstLine(text: string): string {
  return (text.split(/\r?\n/, 1)[0] ?? '').trim();
}

function truncate(text: string, maxWidth: number | undefined): string {
  if (maxWidth === undefined || width(text) <= maxWidth) return text;
  return `${[...text]
    .slice(0, Math.max(maxWidth - 1, 0))
    .join('')
    .trimEnd()}…`;
}

function width(text: string): number {
  return [...text].length;
}

/** An ISO timestamp as `YYYY-MM-DD HH:MM[:SS]` in UTC; anything unparsable is shown as given. */
export function formatUtc(iso: string, withSeconds = false): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return time
    .toISOString()
    .slice(0, withSeconds ? 19 : 16)
    .replace('T', ' ');
}
