import type { ReplayFilter } from '@stepgate/protocol';

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
 * A part of a window in (at, id) order: the records after `after` (null: from the window's
 * start) up to and including `through` (null: to its end). Bounds on (at, id), not on `at`
 * alone, so records sharing a timestamp across a bound belong to exactly one slice.
 */
export interface ReplaySlice {
  after: LogCursor | null;
  through: LogCursor | null;
}

/** The whole window as one slice. */
export const WHOLE_WINDOW: ReplaySlice = { after: null, through: null };

/**
 * A parameterised statement for `pg`. Plain text and values rather than Prisma.sql: a replay
 * worker thread reads with `pg` alone and does not load the Prisma client.
 */
export interface ReplayQuery {
  text: string;
  values: unknown[];
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
  slice: ReplaySlice = WHOLE_WINDOW,
): ReplayQuery {
  const values: unknown[] = [];
  const where = replayWhere(
    window,
    { after: cursor ?? slice.after, through: slice.through },
    values,
  );
  values.push(limit);
  return {
    text: `
    SELECT id, at, agent_id AS "agentId", effect::text AS effect, fail_reason AS "failReason",
           principal, action, resource_kind AS "resourceKind", resource_id AS "resourceId",
           require::text AS require, reasons::text AS reasons, input,
           data_revision AS "dataRevision", signals::text AS signals, replay
    FROM decision_log
    WHERE ${where}
    ORDER BY at, id
    LIMIT $${values.length}`,
    values,
  };
}

/** How many records the window holds. */
export function replayCountQuery(window: ReplayWindow): ReplayQuery {
  const values: unknown[] = [];
  const where = replayWhere(window, WHOLE_WINDOW, values);
  return { text: `SELECT count(*) AS count FROM decision_log WHERE ${where}`, values };
}

/**
 * The (at, id) of the window's records at `offsets` (0-based, ascending) in (at, id) order: the
 * slice bounds. One statement, so one snapshot: the bounds come back in order even while
 * records are written or deleted. An OFFSET read once per bound through the same index as the
 * pages, not once per page.
 */
export function replayPositionsQuery(
  window: ReplayWindow,
  offsets: readonly number[],
): ReplayQuery {
  const values: unknown[] = [];
  const where = replayWhere(window, WHOLE_WINDOW, values);
  const branches = offsets.map((offset) => {
    values.push(offset);
    return `(SELECT at, id FROM decision_log WHERE ${where}
      ORDER BY at, id OFFSET $${values.length} LIMIT 1)`;
  });
  return {
    text: `SELECT at, id FROM (${branches.join(' UNION ALL ')}) AS bound ORDER BY at, id`,
    values,
  };
}

function replayWhere(window: ReplayWindow, slice: ReplaySlice, values: unknown[]): string {
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const parts = [`at >= ${param(window.since)}`, `at < ${param(window.until)}`];
  if (slice.after !== null)
    parts.push(`(at, id) > (${param(slice.after.at)}, ${param(slice.after.id)})`);
  if (slice.through !== null)
    parts.push(`(at, id) <= (${param(slice.through.at)}, ${param(slice.through.id)})`);
  const { filter } = window;
  if (filter.principal !== undefined) parts.push(`principal = ${param(filter.principal)}`);
  if (filter.action !== undefined) parts.push(`action = ${param(filter.action)}`);
  if (filter.effect !== undefined) parts.push(`effect = ${param(filter.effect)}::decision_effect`);
  if (filter.agentId !== undefined) parts.push(`agent_id = ${param(filter.agentId)}`);
  return parts.join(' AND ');
}
