import pg from 'pg';
import { JsonMemo } from './json-memo.js';
import type { ReplayRow } from './replay-evaluator.js';
import {
  replayCountQuery,
  replayPageQuery,
  replayPositionsQuery,
  type LogCursor,
  type ReplaySlice,
  type ReplayWindow,
} from './replay-page-query.js';

/** A page row as pg reads it (see replayPageQuery): three JSON columns still text. */
type PageRow = Omit<ReplayRow, 'require' | 'reasons' | 'signals'> & {
  require: string | null;
  reasons: string;
  signals: string | null;
};

/**
 * How a page's columns are read, pinned here rather than left to pg's process-wide defaults:
 * jsonb parsed once by JSON.parse, timestamptz as a Date, the rest as pg reads them.
 */
const PAGE_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.JSONB
      ? JSON.parse
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** A pg pool or a single client: both answer `query`. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.Client, 'query'>;

/**
 * decision_log as a replay reads it, with `pg` alone: ReplayRecordsRepository reads through the
 * pool Prisma's adapter uses, and a replay worker thread through its own connection (it loads
 * neither Nest nor the Prisma client).
 */
export class ReplayPageReader {
  /** The recorded requirements, reasons and signal values seen, parsed once each. */
  private readonly repeated = new JsonMemo();

  constructor(private readonly db: Queryable) {}

  /** How many records the window holds now. */
  async count(window: ReplayWindow): Promise<number> {
    const query = replayCountQuery(window);
    const result = await (this.db as pg.Pool).query<{ count: string }>(query.text, query.values);
    return Number(result.rows[0]?.count ?? 0);
  }

  /** The (at, id) of the records at `offsets` in (at, id) order (fewer past the end). */
  async positions(window: ReplayWindow, offsets: readonly number[]): Promise<LogCursor[]> {
    if (offsets.length === 0) return [];
    const query = replayPositionsQuery(window, offsets);
    const result = await (this.db as pg.Pool).query<LogCursor>({
      text: query.text,
      values: query.values,
      types: PAGE_TYPES,
    });
    return result.rows;
  }

  /**
   * Up to `limit` records of `slice` after `cursor`, oldest first. Read with `pg` itself, not
   * Prisma's $queryRaw: Prisma maps every cell of a raw result (tags, re-encodes and decodes
   * it), a fifth of a replay's CPU plus the garbage it left; pg's rows already have the
   * ReplayRow shape.
   */
  async page(
    window: ReplayWindow,
    cursor: LogCursor | null,
    limit: number,
    slice?: ReplaySlice,
  ): Promise<ReplayRow[]> {
    const query = replayPageQuery(window, cursor, limit, slice);
    const result = await (this.db as pg.Pool).query<PageRow>({
      text: query.text,
      values: query.values,
      types: PAGE_TYPES,
    });
    // In place: one object per record, its three text columns replaced by their values.
    for (const row of result.rows) {
      const parsed = row as unknown as ReplayRow;
      parsed.require = this.repeated.parse(row.require) as ReplayRow['require'];
      parsed.reasons = this.repeated.parse(row.reasons) as ReplayRow['reasons'];
      parsed.signals = this.repeated.parse(row.signals) as ReplayRow['signals'];
    }
    return result.rows as unknown as ReplayRow[];
  }
}
