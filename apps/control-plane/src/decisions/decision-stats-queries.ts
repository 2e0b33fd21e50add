import { Prisma } from '../generated/prisma/client.js';
import { HOUR_MS, MINUTE_MS, edges, splitWindow, wholeUnits } from './rollup-window.js';

/**
 * The SQL of GET /v1/decisions/stats. Each query adds a roll-up's whole minutes or hours of the
 * window to decision_log's rows in the partial ones at its edges, so a day over a million
 * decisions reads a few thousand roll-up rows and at most two hours of the log, and answers
 * exactly what counting decision_log over [from, to) would
 * (test/integration/control-plane/console-queries-rollups.spec.ts compares the two).
 */

export const TOP = 10;

export type Effect = 'allow' | 'deny' | 'step_up';

export interface EffectCountRow {
  effect: Effect;
  /** '' for decisions made by policy (no fail mode). */
  failReason: string;
  count: bigint | number;
}

export interface TopRow {
  key: string;
  count: bigint | number;
}

/** Decisions in [from, to) by effect and fail reason: decision_minute plus the partial minutes. */
export function effectCountsQuery(from: Date, to: Date): Prisma.Sql {
  const split = splitWindow(from, to, MINUTE_MS);
  return Prisma.sql`
    SELECT effect::text AS effect, fail_reason AS "failReason", sum(n)::bigint AS count
    FROM (
      SELECT effect, fail_reason, n FROM decision_minute WHERE ${wholeUnits(split)}
      UNION ALL
      SELECT effect, coalesce(fail_reason, ''), count(*) FROM decision_log WHERE ${edges(split)}
      GROUP BY 1, 2
    ) AS parts
    GROUP BY 1, 2`;
}

/**
 * The principals most often decided `effect` in [from, to), most first, then by name:
 * decision_hour_principal plus the partial hours (through the (effect, at) index).
 */
export function topPrincipalsQuery(from: Date, to: Date, effect: 'deny' | 'step_up'): Prisma.Sql {
  const split = splitWindow(from, to, HOUR_MS);
  return Prisma.sql`
    SELECT principal AS key, sum(n)::bigint AS count
    FROM (
      SELECT principal, n FROM decision_hour_principal
      WHERE effect = ${effect}::decision_effect AND ${wholeUnits(split)}
      UNION ALL
      SELECT principal, count(*) FROM decision_log
      WHERE effect = ${effect}::decision_effect AND ${edges(split)}
      GROUP BY 1
    ) AS parts
    GROUP BY 1
    ORDER BY 2 DESC, 1
    LIMIT ${TOP}`;
}

/**
 * The `<policy>/<rule>`s of `effect` that matched in decisions of that effect in [from, to),
 * each counted once per decision, most first: decision_hour_rule plus the partial hours.
 */
export function topRulesQuery(from: Date, to: Date, effect: 'deny' | 'step_up'): Prisma.Sql {
  const split = splitWindow(from, to, HOUR_MS);
  return Prisma.sql`
    SELECT rule AS key, sum(n)::bigint AS count
    FROM (
      SELECT rule, n FROM decision_hour_rule
      WHERE effect = ${effect}::decision_effect AND ${wholeUnits(split)}
      UNION ALL
      SELECT (r->>'policy') || '/' || (r->>'rule'), count(DISTINCT d.id)
      FROM decision_log d
      CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(d.reasons) = 'array' THEN d.reasons ELSE '[]'::jsonb END) AS r
      WHERE d.effect = ${effect}::decision_effect AND ${edges(split, Prisma.raw('d.at'))}
        AND r->>'effect' = ${effect}
      GROUP BY 1
    ) AS parts
    WHERE rule IS NOT NULL
    GROUP BY 1
    ORDER BY 2 DESC, 1
    LIMIT ${TOP}`;
}
