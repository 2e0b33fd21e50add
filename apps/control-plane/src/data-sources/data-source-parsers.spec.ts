import { describe, expect, it } from 'vitest';
import { DataSourceParseError, parseDataSourceBody } from './data-source-parsers.js';

const parse = (format: 'json' | 'lines' | 'csv', text: string | Buffer) =>
  parseDataSourceBody(format, typeof text === 'string' ? Buffer.from(text) : text);

describe('data source parsers', () => {
  it('lines: reads a Spamhaus DROP list (";" comments, blank lines, CRLF, BOM)', () => {
    const drop = [
      '\uFEFF; Spamhaus DROP List 2026/12/02 - (c) 2026 The Spamhaus Project',
      '; Last-Modified: Tue, 01 Dec 2026 18:23:11 GMT',
      '',
      '1.10.16.0/20 ; SBL256894',
      '  1.19.0.0/16;SBL434604  ',
      '# a hash comment',
      '2001:db8::/32 # documentation',
      '\t',
    ].join('\r\n');
    expect(parse('lines', drop)).toEqual(['1.10.16.0/20', '1.19.0.0/16', '2001:db8::/32']);
  });

  it('lines: an empty or comment-only body is an empty list', () => {
    expect(parse('lines', '')).toEqual([]);
    expect(parse('lines', '; nothing today\n')).toEqual([]);
  });

  it('csv: one object per row keyed by the header row', () => {
    expect(parse('csv', 'team, person ,phone\nsre,ada,+1 555\n\nnet,"Lin, Bo",\n')).toEqual([
      { team: 'sre', person: 'ada', phone: '+1 555' },
      { team: 'net', person: 'Lin, Bo', phone: '' },
    ]);
  });

  it('csv: a row with the wrong number of fields is refused, naming the line', () => {
    expect(() => parse('csv', 'a,b\n1,2\n3\n')).toThrow(/not CSV with a header row: .*line 3/i);
  });

  it('csv: header names that reach object internals are refused', () => {
    expect(() => parse('csv', '__proto__,b\n1,2\n')).toThrow(
      'CSV header column 1 may not be "__proto__"',
    );
    expect(() => parse('csv', 'a,,c\n1,2,3\n')).toThrow('CSV header column 2 has no name');
  });

  it('json: the parsed value, or a clear error', () => {
    expect(parse('json', '{"a": [1, 2]}')).toEqual({ a: [1, 2] });
    expect(() => parse('json', '{"a": ')).toThrow(/^not JSON: /);
  });

  it('refuses a body that is not UTF-8', () => {
    expect(() => parse('lines', Buffer.from([0x31, 0xff, 0xfe, 0x0a]))).toThrow(
      new DataSourceParseError('not UTF-8 text'),
    );
  });
});
