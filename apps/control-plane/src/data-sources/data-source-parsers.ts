import type { DataSourceFormat } from '@stepgate/policy';
import { parse as parseCsv } from 'csv-parse/sync';

/** A body that is not what its format says; the message says where (line) and what. */
export class DataSourceParseError extends Error {
  override name = 'DataSourceParseError';
}

/** Column names that would reach JavaScript's object internals in the rows. */
const FORBIDDEN_COLUMNS = new Set(['__proto__', 'constructor', 'prototype']);

/** Parses a fetched body by the source's format. Throws DataSourceParseError. */
export function parseDataSourceBody(format: DataSourceFormat, body: Buffer): unknown {
  const text = decode(body);
  if (format === 'json') return parseJson(text);
  if (format === 'lines') return parseLines(text);
  return parseCsvRows(text);
}

/**
 * The common threat-feed list format (Spamhaus DROP, FireHOL, abuse.ch): one entry per line,
 * `;` or `#` starts a comment (to the end of the line), entries trimmed, blank lines dropped.
 * `1.10.16.0/20 ; SBL256894` is `1.10.16.0/20`.
 */
export function parseLines(text: string): string[] {
  const entries: string[] = [];
  for (const line of text.split(/\r?\n|\r/)) {
    const comment = line.search(/[;#]/);
    const entry = (comment === -1 ? line : line.slice(0, comment)).trim();
    if (entry !== '') entries.push(entry);
  }
  return entries;
}

/** CSV with a header row: one object per row, keyed by the header's column names. */
export function parseCsvRows(text: string): Record<string, string>[] {
  try {
    return parseCsv(text, {
      columns: (header: string[]) =>
        header.map((column, index) => {
          const name = column.trim();
          if (name === '')
            throw new DataSourceParseError(`CSV header column ${index + 1} has no name`);
          if (FORBIDDEN_COLUMNS.has(name))
            throw new DataSourceParseError(`CSV header column ${index + 1} may not be "${name}"`);
          return name;
        }),
      skip_empty_lines: true,
      trim: true,
    }) as Record<string, string>[];
  } catch (error) {
    if (error instanceof DataSourceParseError) throw error;
    throw new DataSourceParseError(`not CSV with a header row: ${(error as Error).message}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DataSourceParseError(`not JSON: ${(error as Error).message}`);
  }
}

/** UTF-8 text without a byte-order mark; anything else (a binary file, Latin-1) is refused. */
function decode(body: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new DataSourceParseError('not UTF-8 text');
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}
