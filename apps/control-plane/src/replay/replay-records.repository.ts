import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { PrismaService } from '../database/prisma.service.js';
import { JsonMemo } from './json-memo.js';
import type { ReplayRow } from './replay-evaluator.js';
import {
  replayPageQuery,
  replayWhere,
  type LogCursor,
  type ReplayWindow,
} from './replay-page-query.js';

export type { LogCursor, ReplayWindow };

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

/**
 * Read-only access to decision_log for replays: pages in (at, id) order after a keyset
 * cursor, so a replay holds one page at a time whatever the window. The writes stay with
 * DecisionsRepository; only the replay reads in this order and shape.
 */
@Injectable()
export class ReplayRecordsRepository {
  /** The recorded requirements, reasons and signal values seen, parsed once each. */
  private readonly repeated = new JsonMemo();

  constructor(private readonly prisma: PrismaService) {}

  /** How many records the window holds now (the progress estimate). */
  async count(window: ReplayWindow): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ count: bigint }[]>`
      SELECT count(*) AS count FROM decision_log WHERE ${replayWhere(window, null)}`;
    return Number(row?.count ?? 0);
  }

  /**
   * Up to `limit` records after `cursor`, oldest first. Read with `pg` itself, not Prisma's
   * $queryRaw: Prisma maps every cell of a raw result (tags, re-encodes and decodes it), a fifth
   * of a replay's CPU plus the garbage it left; pg's own rows already have the ReplayRow shape.
   */
  async page(window: ReplayWindow, cursor: LogCursor | null, limit: number): Promise<ReplayRow[]> {
    const query = replayPageQuery(window, cursor, limit);
    const result = await this.prisma.pool.query<PageRow>({
      text: query.text,
      values: query.values as unknown[],
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

  /** The labels of the agents that recorded (policies select agents by label). */
  async labels(agentIds: string[]): Promise<Map<string, Record<string, string>>> {
    if (agentIds.length === 0) return new Map();
    const rows = await this.prisma.agent.findMany({
      where: { id: { in: agentIds } },
      select: { id: true, labels: true },
    });
    return new Map(rows.map((row) => [row.id, (row.labels ?? {}) as Record<string, string>]));
  }
}
