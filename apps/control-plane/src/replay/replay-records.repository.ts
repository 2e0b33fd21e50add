import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { ReplayRow } from './replay-evaluator.js';
import { ReplayPageReader } from './replay-page-reader.js';
import type { LogCursor, ReplaySlice, ReplayWindow } from './replay-page-query.js';

export type { LogCursor, ReplaySlice, ReplayWindow };

/**
 * Read-only access to decision_log for replays: pages in (at, id) order after a keyset
 * cursor, so a replay holds one page at a time whatever the window. The writes stay with
 * DecisionsRepository; only the replay reads in this order and shape. The pages are read with
 * `pg` through the pool Prisma's adapter uses (ReplayPageReader, which replay workers share).
 */
@Injectable()
export class ReplayRecordsRepository {
  private readonly reader: ReplayPageReader;

  constructor(private readonly prisma: PrismaService) {
    this.reader = new ReplayPageReader(prisma.pool);
  }

  /** How many records the window holds now (the progress estimate). */
  count(window: ReplayWindow): Promise<number> {
    return this.reader.count(window);
  }

  /** The (at, id) of the window's records at `offsets` in (at, id) order (slice bounds). */
  positions(window: ReplayWindow, offsets: readonly number[]): Promise<LogCursor[]> {
    return this.reader.positions(window, offsets);
  }

  /** Up to `limit` records after `cursor`, oldest first. */
  page(window: ReplayWindow, cursor: LogCursor | null, limit: number): Promise<ReplayRow[]> {
    return this.reader.page(window, cursor, limit);
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
