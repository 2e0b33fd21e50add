import { Injectable } from '@nestjs/common';
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

  /** Up to `limit` records after `cursor`, oldest first. */
  page(window: ReplayWindow, cursor: LogCursor | null, limit: number): Promise<ReplayRow[]> {
    return this.prisma.$queryRaw<ReplayRow[]>(replayPageQuery(window, cursor, limit));
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
