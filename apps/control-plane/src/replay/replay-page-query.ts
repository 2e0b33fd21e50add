import type { ReplayFilter } from '@stepgate/protocol';
import { Prisma } from '../generated/prisma/client.js';

/** A position in the log: the last (at, id) read. */
export interface LogCursor {
  at: Date;
  id: string;
}

export interface ReplayWindow {
  since: Date;
  until: Date;
  filter: ReplayFilter;
}

/**
 * One page of a replay's records: the window and filter, after the (at, id) cursor, oldest
 * first. A keyset cursor, never an OFFSET: every page costs the same however deep it is. The
 * (at, id) index serves an unfiltered window; (principal, at) and (action, at) a filtered one.
 * The requirement, reasons and signals come as text: their values repeat, and the repository
 * parses each distinct text once (JsonMemo).
 */
export function replayPageQuery(
  window: ReplayWindow,
  cursor: LogCursor | null,
  limit: number,
): Prisma.Sql {
  return Prisma.sql`
    SELECT id, at, agent_id AS "agentId", effect::text AS effect, fail_reason AS "failReason",
           principal, action, resource_kind AS "resourceKind", resource_id AS "resourceId",
           require::text AS require, reasons::text AS reasons, input,
           data_revision AS "dataRevision", signals::text AS signals, replay
    FROM decision_log
    WHERE ${replayWhere(window, cursor)}
    ORDER BY at, id
    LIMIT ${limit}`;
}

export function replayWhere(window: ReplayWindow, cursor: LogCursor | null): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`at >= ${window.since}`, Prisma.sql`at < ${window.until}`];
  if (cursor !== null) parts.push(Prisma.sql`(at, id) > (${cursor.at}, ${cursor.id})`);
  const { filter } = window;
  if (filter.principal !== undefined) parts.push(Prisma.sql`principal = ${filter.principal}`);
  if (filter.action !== undefined) parts.push(Prisma.sql`action = ${filter.action}`);
  if (filter.effect !== undefined)
    parts.push(Prisma.sql`effect = ${filter.effect}::decision_effect`);
  if (filter.agentId !== undefined) parts.push(Prisma.sql`agent_id = ${filter.agentId}`);
  return Prisma.join(parts, ' AND ');
}
