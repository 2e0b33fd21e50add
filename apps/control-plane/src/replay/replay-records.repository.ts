import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { PrismaService } from '../database/prisma.service.js';
import type { ReplayRow } from './replay-evaluator.js';
import {
  replayPageQuery,
  replayWhere,
  type LogCursor,
  type ReplayWindow,
} from './replay-page-query.js';

export type { LogCursor, ReplayWindow };

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
    const result = await this.prisma.pool.query<ReplayRow>({
      text: query.text,
      values: query.values as unknown[],
      types: PAGE_TYPES,
    });
    return result.rows;
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
