import {
  StepgateError,
  TIMELINE_MAX_BUCKETS,
  type DecisionTimeline,
  type DecisionTimelineQuery,
} from '@stepgate/protocol';
import { Prisma } from '../generated/prisma/client.js';
import { MINUTE_MS, edges, rawWindow, splitWindow, wholeUnits } from './rollup-window.js';

/** The window and the buckets a timeline answers with. */
export interface TimelinePlan {
  from: Date;
  to: Date;
  bucketSeconds: number;
  /** The start of the bucket holding `from` (aligned on the Unix epoch). */
  first: Date;
  buckets: number;
}

export interface TimelineRow {
  start: Date;
  effect: 'allow' | 'deny' | 'step_up';
  count: number;
}

/** `from`/`to` default to the last hour; more than TIMELINE_MAX_BUCKETS buckets is a 400. */
export function timelinePlan(query: DecisionTimelineQuery, now = new Date()): TimelinePlan {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - 3600_000);
  if (from.getTime() >= to.getTime())
    throw new StepgateError('request/invalid', 'invalid query: "from" must be before "to"');
  const size = query.bucket * 1000;
  const first = new Date(Math.floor(from.getTime() / size) * size);
  const buckets = Math.ceil((to.getTime() - first.getTime()) / size);
  if (buckets > TIMELINE_MAX_BUCKETS)
    throw new StepgateError(
      'request/invalid',
      `invalid query: ${buckets} buckets of ${query.bucket} s from "from" to "to"; at most ` +
        `${TIMELINE_MAX_BUCKETS}: pass a larger bucket or a shorter window`,
    );
  return { from, to, bucketSeconds: query.bucket, first, buckets };
}

/**
 * Counts by bucket and effect, grouped by PostgreSQL (no row reaches Node): the whole minutes of
 * the window from the decision_minute roll-up, the partial minutes at its edges from decision_log
 * (the (at, id) index bounds that scan). Buckets that are not whole minutes (30 s) cannot be
 * built from minutes: then decision_log answers for the whole window. date_bin on the epoch
 * origin matches `timelinePlan`'s alignment, and a minute lies in one bucket of any multiple of
 * 60 s.
 */
export function timelineQuery({ from, to, bucketSeconds }: TimelinePlan): Prisma.Sql {
  const split =
    (bucketSeconds * 1000) % MINUTE_MS === 0
      ? splitWindow(from, to, MINUTE_MS)
      : rawWindow(from, to);
  const bin = (column: string) =>
    Prisma.sql`date_bin(${bucketSeconds}::int * interval '1 second', ${Prisma.raw(column)},
                        TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
  return Prisma.sql`
    SELECT start, effect, sum(n)::int AS count
    FROM (
      SELECT ${bin('bucket')} AS start, effect::text AS effect, n
      FROM decision_minute WHERE ${wholeUnits(split)}
      UNION ALL
      SELECT ${bin('at')}, effect::text, count(*)
      FROM decision_log WHERE ${edges(split)}
      GROUP BY 1, 2
    ) AS parts
    GROUP BY 1, 2`;
}

/** Every bucket of the plan, oldest first, with zeros where nothing was decided. */
export function timelineView(plan: TimelinePlan, rows: TimelineRow[]): DecisionTimeline {
  const size = plan.bucketSeconds * 1000;
  const buckets = Array.from({ length: plan.buckets }, (_, index) => ({
    start: new Date(plan.first.getTime() + index * size).toISOString(),
    total: 0,
    allow: 0,
    deny: 0,
    step_up: 0,
  }));
  for (const row of rows) {
    const bucket = buckets[Math.floor((row.start.getTime() - plan.first.getTime()) / size)];
    if (!bucket) continue; // cannot happen: rows come from inside the window, on the same grid
    bucket[row.effect] += Number(row.count);
    bucket.total += Number(row.count);
  }
  return {
    from: plan.from.toISOString(),
    to: plan.to.toISOString(),
    bucketSeconds: plan.bucketSeconds,
    buckets,
  };
}
