import { Prisma } from '../generated/prisma/client.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3600_000;

/**
 * A window [from, to) cut for the roll-ups (decision_minute, decision_hour_*): the whole units
 * inside it, [wholeFrom, wholeTo), are read from a roll-up, and the rest, [from, wholeFrom) and
 * [wholeTo, to), from decision_log itself. With no whole unit inside, wholeFrom = wholeTo = to:
 * the roll-up part is empty and decision_log answers for the whole window. The answer is the
 * same as counting decision_log over [from, to), only cheaper when the window is long.
 */
export interface RollupSplit {
  from: Date;
  to: Date;
  wholeFrom: Date;
  wholeTo: Date;
}

export function splitWindow(from: Date, to: Date, unitMs: number): RollupSplit {
  const first = Math.ceil(from.getTime() / unitMs) * unitMs;
  const last = Math.floor(to.getTime() / unitMs) * unitMs;
  if (first >= last) return { from, to, wholeFrom: to, wholeTo: to };
  return { from, to, wholeFrom: new Date(first), wholeTo: new Date(last) };
}

/** Every part of the window from decision_log (for buckets a roll-up cannot serve). */
export function rawWindow(from: Date, to: Date): RollupSplit {
  return { from, to, wholeFrom: to, wholeTo: to };
}

/** The roll-up rows of the split's whole units. */
export function wholeUnits(split: RollupSplit, column = Prisma.raw('bucket')): Prisma.Sql {
  return Prisma.sql`${column} >= ${split.wholeFrom} AND ${column} < ${split.wholeTo}`;
}

/**
 * The decision_log rows at the split's edges: two ranges of the (at, id) or (effect, at) index,
 * an empty one when an edge is empty.
 */
export function edges(split: RollupSplit, column = Prisma.raw('at')): Prisma.Sql {
  return Prisma.sql`((${column} >= ${split.from} AND ${column} < ${split.wholeFrom})
    OR (${column} >= ${split.wholeTo} AND ${column} < ${split.to}))`;
}
