import { describe, expect, it } from 'vitest';
import { firstLine, formatTable, formatUtc, printable, type Column } from './table.js';

interface Row {
  n: number;
  name: string;
}

const columns: Column<Row>[] = [
  { header: 'N', value: (row) => String(row.n), align: 'right' },
  { header: 'NAME', value: (row) => row.name, maxWidth: 8 },
  { header: 'LAST', value: () => 'x' },
];

describe('formatTable', () => {
  it('aligns columns, right-aligns where asked, and leaves no trailing spaces', () => {
    const table = formatTable(columns, [
      { n: 7, name: 'alice' },
      { n: 123, name: 'bob' },
    ]);
    expect(table.split('\n')).toEqual(['  N  NAME   LAST', '  7  alice  x', '123  bob    x']);
  });

  it('cuts long cells with an ellipsis at maxWidth', () => {
    const table = formatTable(columns, [{ n: 1, name: 'abcdefghijkl' }]);
    expect(table.split('\n')[1]).toBe('1  abcdefg…  x');
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(columns, [])).toBe('N  NAME  LAST');
  });

  it('neutralises control characters and escape sequences in cells', () => {
    const table = formatTable(columns, [{ n: 1, name: '\u001b[2Jx\ny' }]);
    expect(table).not.toContain('\u001b');
    expect(table.split('\n')).toHaveLength(2);
  });
});

describe('cell helpers', () => {
  it('printable replaces C0 and C1 controls with spaces', () => {
    expect(printable('a\u0007b\u009bc\td')).toBe('a b c d');
  });

  it('firstLine keeps the subject of a commit message', () => {
    expect(firstLine('Tighten prod deploys\n\nBecause.')).toBe('Tighten prod deploys');
    expect(firstLine('')).toBe('');
  });

  it('formatUtc shows UTC minutes or seconds, and passes through what it cannot parse', () => {
    expect(formatUtc('2026-11-23T10:00:59.123+02:00')).toBe('2026-11-23 08:00');
    expect(formatUtc('2026-11-23T10:00:59.123Z', true)).toBe('2026-11-23 10:00:59');
    expect(formatUtc('yesterday')).toBe('yesterday');
  });
});
